/*  kreishub-vectors - writes the protocol's test vectors: msgpack files, MANIFEST and QUERIES.

    Each vector is one file of raw bytes as a client might send them. MANIFEST lists
    the envelopes (sent as PUBLISH): "<file> <result> [store] [id]", the result OK or
    an error name (kh_errname); "id" says that the ERROR carries the envelope's id.
    QUERIES lists the query bodies (sent as QUERY, after every envelope of MANIFEST):
    "<file> ROWS <count>" or "<file> <error name> [req=7]". PROTOCOL.md section 10
    says what the words mean. The expectations are written here by hand, from the
    rules of PROTOCOL.md, never computed with the codec: the codec's tests and
    it_wire hold the codec and the hub to them. The files are committed in
    schema/vectors/; a test regenerates them and compares, so the generator and the
    files cannot drift apart. Usage: kreishub-vectors DIR
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "kh_codec.h"
#include "kh_opts.h"

#define S_TS 1635897600000ULL               /* 2021-11-03 00:00 UTC, the mayors' conference */

/* ===================================================================== values */

/* One msgpack value a vector puts somewhere, or the wish to leave it out. */
typedef enum {
    V_NONE,                                 /* not set: the standard value */
    V_SKIP,                                 /* left out */
    V_STR, V_UINT, V_INT, V_FLOAT, V_NIL,
    V_RAW,                                  /* msgpack bytes, written as they are */
    V_STRS,                                 /* an array of the strs in list */
    V_FN                                    /* packed by fn */
} s_kind_t;

typedef struct {
    s_kind_t    kind;
    const char *bytes;                      /* V_STR text, V_RAW msgpack */
    size_t      len;
    uint64_t    u;                          /* V_UINT */
    int64_t     i;                          /* V_INT */
    double      f;                          /* V_FLOAT */
    const char *const *list;                /* V_STRS, NULL-terminated */
    void      (*fn) (msgpack_packer *pk);   /* V_FN */
} s_val_t;

/* A key and its value in a map; key V_NONE: no pair. */
typedef struct {
    s_val_t key, val;
} s_pair_t;

/* String literals only (sizeof counts their bytes, NULs inside included). */
#define S_STR(s)    ((s_val_t) { .kind = V_STR, .bytes = (s), .len = sizeof (s) - 1 })
#define S_RAW(s)    ((s_val_t) { .kind = V_RAW, .bytes = (s), .len = sizeof (s) - 1 })
#define S_UINT(n)   ((s_val_t) { .kind = V_UINT, .u = (n) })
#define S_INT(n)    ((s_val_t) { .kind = V_INT, .i = (n) })
#define S_FLOAT(x)  ((s_val_t) { .kind = V_FLOAT, .f = (x) })
#define S_NIL       ((s_val_t) { .kind = V_NIL })
#define S_FN(p)     ((s_val_t) { .kind = V_FN, .fn = (p) })
#define S_STRS(...) ((s_val_t) { .kind = V_STRS, \
                                 .list = (const char *const []) { __VA_ARGS__, NULL } })
#define S_SKIP      ((s_val_t) { .kind = V_SKIP })
#define S_PAIR(k, v) ((s_pair_t) { S_STR (k), v })

/* A str of len bytes at text (a buffer made at run time). */
static s_val_t
s_text (const char *text, size_t len)
{
    return (s_val_t) { .kind = V_STR, .bytes = text, .len = len };
}

/* Packs the strs of list (NULL-terminated) as an array. */
static void
s_pack_strs (msgpack_packer *pk, const char *const *list)
{
    size_t count = 0;
    while (list [count])
        count++;
    msgpack_pack_array (pk, count);
    for (size_t i = 0; i < count; i++) {
        msgpack_pack_str (pk, strlen (list [i]));
        msgpack_pack_str_body (pk, list [i], strlen (list [i]));
    }
}

static void
s_pack (msgpack_packer *pk, s_val_t v)
{
    switch (v.kind) {
        case V_STR:
            msgpack_pack_str (pk, v.len);
            msgpack_pack_str_body (pk, v.bytes, v.len);
            break;
        case V_UINT:  msgpack_pack_uint64 (pk, v.u); break;
        case V_INT:   msgpack_pack_int64 (pk, v.i); break;
        case V_FLOAT: msgpack_pack_double (pk, v.f); break;
        case V_NIL:   msgpack_pack_nil (pk); break;
        case V_RAW:   pk->callback (pk->data, v.bytes, v.len); break;
        case V_STRS:  s_pack_strs (pk, v.list); break;
        case V_FN:    v.fn (pk); break;
        case V_NONE:
        case V_SKIP:  break;
    }
}

static void
s_pack_pair (msgpack_packer *pk, const s_pair_t *pair)
{
    s_pack (pk, pair->key);
    s_pack (pk, pair->val);
}

/* ================================================================== envelopes */

/* The envelope's keys, in the order the standard envelope packs them. */
enum { K_V, K_ID, K_TYPE, K_FROM, K_TS, K_BODY, K_COUNT };
static const char *const s_keys [K_COUNT] = { "v", "id", "type", "from", "ts", "body" };

/* What a vector changes in the standard idea envelope
   {v: 1, id, type: "idea", from: "05162004", ts: S_TS, body: {title}}. */
typedef struct {
    s_val_t  env [K_COUNT];                 /* a key's value; V_SKIP leaves the key out */
    s_pair_t extra;                         /* one more envelope pair, after the six */
    s_val_t  title;                         /* the title; V_SKIP leaves it out */
    s_pair_t pre;                           /* a body pair before the title */
    s_pair_t post;                          /* a body pair after the title */
    uint8_t  id_tail;                       /* last byte of the id (default 0x2a) */
} s_shape_t;

#define S_PRE(k, v)     .pre = { S_STR (k), v }
#define S_POST(k, v)    .post = { S_STR (k), v }
#define S_EXTRA(k, v)   .extra = { S_STR (k), v }

/* Packs the body of the standard envelope with the changes in sh. */
static void
s_body (msgpack_packer *pk, const s_shape_t *sh)
{
    bool title = sh->title.kind != V_SKIP;
    bool pre = sh->pre.key.kind != V_NONE, post = sh->post.key.kind != V_NONE;
    msgpack_pack_map (pk, (size_t) title + pre + post);
    if (pre)
        s_pack_pair (pk, &sh->pre);
    if (title) {
        s_pack (pk, S_STR ("title"));
        s_pack (pk, sh->title.kind == V_NONE ? S_STR ("Digitaler Zwilling fuer den Kreis")
                                             : sh->title);
    }
    if (post)
        s_pack_pair (pk, &sh->post);
}

/* Packs the standard envelope with the changes in sh. */
static void
s_envelope (msgpack_packer *pk, const s_shape_t *sh)
{
    uint8_t id [16] = { 0x01, 0x7c, 0xe4, 0x2a, 0x38, 0x00, 0x70, 0x01,
                        0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2a };
    if (sh->id_tail)
        id [15] = sh->id_tail;
    size_t n = sh->extra.key.kind != V_NONE;
    for (int k = 0; k < K_COUNT; k++)
        n += sh->env [k].kind != V_SKIP;
    msgpack_pack_map (pk, n);
    for (int k = 0; k < K_COUNT; k++) {
        s_val_t v = sh->env [k];
        if (v.kind == V_SKIP)
            continue;
        s_pack (pk, s_text (s_keys [k], strlen (s_keys [k])));
        if (v.kind != V_NONE) {
            s_pack (pk, v);
            continue;
        }
        switch (k) {
            case K_V:    s_pack (pk, S_UINT (1)); break;
            case K_ID:   msgpack_pack_bin (pk, 16); msgpack_pack_bin_body (pk, id, 16); break;
            case K_TYPE: s_pack (pk, S_STR ("idea")); break;
            case K_FROM: s_pack (pk, S_STR ("05162004")); break;
            case K_TS:   s_pack (pk, S_UINT (S_TS)); break;
            case K_BODY: s_body (pk, sh); break;
        }
    }
    if (sh->extra.key.kind != V_NONE)
        s_pack_pair (pk, &sh->extra);
}

/* Lists and bodies made by code. */
static void
v_kw21 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 21);
    for (int i = 0; i < 21; i++)
        s_pack (pk, S_STR ("k"));
}

static void
v_kw21_ints (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 21);
    for (int i = 0; i < 21; i++)
        msgpack_pack_uint8 (pk, 7);
}

/* ===================================================================== output */

/* Writes bytes to DIR/name and the line "name expect" to list. Returns 0 or -1. */
static int
s_write (const char *dir, FILE *list, const char *name, const char *expect,
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
    fprintf (list, "%s %s\n", name, expect);
    return 0;
}

/* Writes an envelope of the given shape, cut short by cut bytes or extended by
   append. */
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

/* Writes the standard envelope with a description that makes it exactly size
   bytes long (size between 1 KiB and 64 KiB + a little: a str16 description). */
static int
s_sized (const char *dir, FILE *manifest, const char *name, const char *expect, size_t size)
{
    static char text [70000];
    memset (text, 'x', sizeof text);
    size_t len = 1000;
    for (int round = 0; round < 2; round++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init (&buf);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &buf, msgpack_sbuffer_write);
        s_envelope (&pk, &(s_shape_t) { S_POST ("description", s_text (text, len)) });
        size_t got = buf.size;
        int rc = got == size ? s_write (dir, manifest, name, expect, buf.data, got) : 1;
        msgpack_sbuffer_destroy (&buf);
        if (rc <= 0)
            return rc;
        len = len + size - got;         /* one byte of text is one byte of envelope */
    }
    fprintf (stderr, "kreishub-vectors: %s: cannot make %zu bytes\n", name, size);
    return -1;
}

/* A valid envelope of every field the pairs in fields name (field, text, ...,
   NULL), built through the codec's builder; the last byte of its id is tail. */
static int
s_built (const char *dir, FILE *manifest, const char *name, const char *type,
         const char *from, uint8_t tail, const char *const *fields)
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
    id [15] = tail;
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

/* Appends a map of the count pairs, in their order, to buf. */
static void
s_pack_map (msgpack_sbuffer *buf, const s_pair_t *pairs, size_t count)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, count);
    for (size_t i = 0; i < count; i++)
        s_pack_pair (&pk, &pairs [i]);
}

/* Writes an envelope of type from `from` whose body is the count pairs given, in
   their order; the last byte of its id is tail (0: the standard id's). */
static int
s_message (const char *dir, FILE *m, const char *name, const char *expect,
           const char *type, const char *from, uint8_t tail, const s_pair_t *pairs,
           size_t count)
{
    msgpack_sbuffer body;
    msgpack_sbuffer_init (&body);
    s_pack_map (&body, pairs, count);
    s_shape_t shape = {
        .env [K_TYPE] = s_text (type, strlen (type)),
        .env [K_FROM] = s_text (from, strlen (from)),
        .env [K_BODY] = { .kind = V_RAW, .bytes = body.data, .len = body.size },
        .id_tail = tail
    };
    int rc = s_vector (dir, m, name, expect, shape, 0, NULL);
    msgpack_sbuffer_destroy (&body);
    return rc;
}

#define S_MSG(name, expect, type, from, tail, ...) \
    s_message (dir, m, name, expect, type, from, tail, (const s_pair_t []) { __VA_ARGS__ }, \
               sizeof ((const s_pair_t []) { __VA_ARGS__ }) / sizeof (s_pair_t))
/* The standard id: ok_idea_minimal's, an item of 05162004 stored early on. */
#define S_ITEM_ID   "\x01\x7c\xe4\x2a\x38\x00\x70\x01\x80\x00\x00\x00\x00\x00\x00\x2a"
#define S_ITEM_TEXT "017ce42a-3800-7001-8000-00000000002a"
#define S_REF       S_PAIR ("ref", S_RAW ("\xc4\x10" S_ITEM_ID))

/* Writes a query body: a map of the count pairs, then append (may be NULL). */
static int
s_query (const char *dir, FILE *list, const char *name, const char *expect,
         const s_pair_t *pairs, size_t count, const char *append)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    s_pack_map (&buf, pairs, count);
    if (append)
        msgpack_sbuffer_write (&buf, append, strlen (append));
    int rc = s_write (dir, list, name, expect, buf.data, buf.size);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

#define S_Q(name, expect, ...) \
    s_query (dir, q, name, expect, (const s_pair_t []) { __VA_ARGS__ }, \
             sizeof ((const s_pair_t []) { __VA_ARGS__ }) / sizeof (s_pair_t), NULL)
#define S_REQ S_PAIR ("req", S_UINT (7))

/* ==================================================================== vectors */

/* The valid envelopes, in the order the hub stores them (seq 1, 2, ...). */
static int
s_valid (const char *dir, FILE *m)
{
    static const char *const idea [] = {
        "title", "Digitaler Zwilling (3D-Stadt- und Landschaftsmodell)",
        "description", "Ein kreisweites 3D-Modell fuer Planung, gemeinsam mit allen Kommunen.",
        "hf", "2", "topic", "Querschnitt", "keywords", "3D, Planung, Geodaten",
        "lead", "05162", "participants", "05162004,05162008,05162012,05162016",
        "maturity", "concept", "start", "2022-03-30", "contact", "Kreis IT",
        "benefit", "eine Datengrundlage statt acht", NULL };
    static const char *const offer [] = {
        "title", "LoRaWAN-Netz des Kreises", "description", "Frei nutzbar fuer Sensoren.",
        "hf", "3", "keywords", "IoT,LoRaWAN", "maturity", "stable", "cost", "kostenfrei",
        "licence", "EUPL-1.2", "valid_until", "2025-12-31", NULL };
    static char t200 [200];
    memset (t200, 'a', sizeof t200);
    int rc = 0;
    rc |= s_built (dir, m, "ok_idea_full.mp", "idea", "05162004", 15, idea);
    rc |= s_built (dir, m, "ok_offer_full.mp", "offer", "05162", 16, offer);
    rc |= s_vector (dir, m, "ok_idea_minimal.mp", "OK", (s_shape_t) { 0 }, 0, NULL);
    rc |= s_vector (dir, m, "ok_idea_minimal_again.mp", "OK", (s_shape_t) { 0 }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_reused.mp", "VALUE store id",
                    (s_shape_t) { .env [K_FROM] = S_STR ("05162") }, 0, NULL);
    rc |= s_vector (dir, m, "ok_kreis_sender.mp", "OK",
                    (s_shape_t) { .env [K_FROM] = S_STR ("05162"), .id_tail = 0x2b }, 0, NULL);
    rc |= s_vector (dir, m, "ok_umlaut_title.mp", "OK",
                    (s_shape_t) { .title = S_STR ("J\xc3\xbc" "chen: Ummeldung im B\xc3\xbc"
                                                  "rgerb\xc3\xbc" "ro"),
                                  .id_tail = 0x2c }, 0, NULL);
    rc |= s_vector (dir, m, "ok_title_200_bytes.mp", "OK",
                    (s_shape_t) { .title = s_text (t200, 200), .id_tail = 0x2d }, 0, NULL);
    rc |= s_vector (dir, m, "ok_hf.mp", "OK",
                    (s_shape_t) { S_POST ("hf", S_UINT (2)), .id_tail = 0x2e }, 0, NULL);
    /* dates: any real date of years 0001..9999 */
    rc |= s_vector (dir, m, "ok_start_1899_12_31.mp", "OK",
                    (s_shape_t) { S_POST ("start", S_STR ("1899-12-31")), .id_tail = 0x2f },
                    0, NULL);
    rc |= s_vector (dir, m, "ok_start_0001_01_01.mp", "OK",
                    (s_shape_t) { S_POST ("start", S_STR ("0001-01-01")), .id_tail = 0x30 },
                    0, NULL);
    rc |= s_vector (dir, m, "ok_start_2000_02_29.mp", "OK",
                    (s_shape_t) { S_POST ("start", S_STR ("2000-02-29")), .id_tail = 0x31 },
                    0, NULL);
    /* any msgpack integer format: v 1 as int8, ts as int64, hf 2 as int8 */
    rc |= s_vector (dir, m, "ok_integer_formats.mp", "OK",
                    (s_shape_t) { .env [K_V] = S_RAW ("\xd0\x01"),
                                  .env [K_TS] = S_RAW ("\xd3\x00\x00\x01\x7c\xe3\x18\x68\x00"),
                                  S_POST ("hf", S_RAW ("\xd0\x02")), .id_tail = 0x32 },
                    0, NULL);
    /* a list may be empty; keywords may repeat */
    rc |= s_vector (dir, m, "ok_lists.mp", "OK",
                    (s_shape_t) { S_PRE ("keywords", S_RAW ("\x92\xa1k\xa1k")),
                                  S_POST ("participants", S_RAW ("\x90")), .id_tail = 0x33 },
                    0, NULL);
    /* the hub checks an id's size and that it is not all zero, not its UUID layout */
    rc |= s_vector (dir, m, "ok_id_uuid4.mp", "OK",
                    (s_shape_t) { .env [K_ID] = S_RAW ("\xc4\x10\x3b\x24\x1f\x0e\x5a\x6c\x4d"
                                                       "\x2e\x9f\x10\x22\x33\x44\x55\x66\x77") },
                    0, NULL);
    return rc;
}

/* Fills buf with count copies of the UTF-8 character ch; returns it as a str. */
static s_val_t
s_repeat (char *buf, const char *ch, size_t count)
{
    size_t n = strlen (ch);
    for (size_t i = 0; i < count; i++)
        memcpy (buf + i * n, ch, n);
    return s_text (buf, count * n);
}

/* The valid items of the new types and the messages about an item, stored after
   s_valid's. Every ref names ok_idea_minimal, an idea of 05162004 stored before
   them, and each message is one its current state allows (PROTOCOL.md section 13):
   an interest, the owner's and then its Kreis' status forward, the owner's
   revisions, comments. */
static int
s_items (const char *dir, FILE *m)
{
    static const char *const request [] = {
        "title", "Gemeinsame Datenschutzbeauftragte gesucht",
        "description", "Wir suchen Partner fuer eine gemeinsame Stelle.\nAb 2023.",
        "hf", "4", "topic", "Querschnitt", "keywords", "Datenschutz,DSB",
        "lead", "05162012", "participants", "05162012", "maturity", "concept",
        "start", "2023-01-01", "contact", "Gemeinde Juechen, Hauptamt",
        "valid_until", "2023-06-30", NULL };
    static const char *const announcement [] = {
        "title", "Fortbildung: Einfuehrung in die E-Akte",
        "description", "Kurs des Fortbildungsprogramms, kostenfrei fuer Beschaeftigte.",
        "hf", "1", "topic", "Querschnitt", "keywords", "Fortbildung,E-Akte",
        "lead", "05162", "start", "2022-05-10", "contact", "Kreis, Personalentwicklung",
        "valid_until", "2022-05-10", "place", "Kreishaus Grevenbroich, Digitallabor", NULL };
    static const char *const interest [] = {
        "ref", S_ITEM_TEXT, "action", "join", "text", "Kaarst macht mit.\nAnsprechpartner folgt.",
        NULL };
    static const char *const status [] = {
        "ref", S_ITEM_TEXT, "status", "decided", "text", "Beschluss des Kreistags", NULL };
    static const char *const revise [] = {
        "ref", S_ITEM_TEXT, "fields.description", "Ein Modell fuer alle.",
        "fields.keywords", "3D,Zwilling", "fields.participants", "05162004,05162016",
        "fields.valid_until", "2025-12-31", "fields.benefit", "eine Datengrundlage",
        "text", "Nach der Sitzung\tergaenzt", NULL };
    static const char *const comment [] = {
        "ref", S_ITEM_TEXT, "text", "Neuss prueft das.\n\tRueckmeldung bis Maerz.", NULL };
    static char umlauts [400], wide [800];
    int rc = 0;
    rc |= S_MSG ("ok_request_minimal.mp", "OK", "request", "05162008", 0x34,
                 S_PAIR ("title", S_STR ("Partner fuer ein Geoportal gesucht")));
    rc |= S_MSG ("ok_announcement_minimal.mp", "OK", "announcement", "05162", 0x35,
                 S_PAIR ("title", S_STR ("Foerderung: 420.000 EUR fuer den Zwilling")));
    rc |= s_built (dir, m, "ok_request_full.mp", "request", "05162012", 17, request);
    rc |= s_built (dir, m, "ok_announcement_full.mp", "announcement", "05162", 18,
                   announcement);
    rc |= S_MSG ("ok_interest_minimal.mp", "OK", "interest", "05162012", 0x36, S_REF,
                 S_PAIR ("action", S_STR ("interested")));
    rc |= s_built (dir, m, "ok_interest_full.mp", "interest", "05162016", 19, interest);
    rc |= S_MSG ("ok_status_minimal.mp", "OK", "status", "05162004", 0x37, S_REF,
                 S_PAIR ("status", S_STR ("discussion")));
    rc |= s_built (dir, m, "ok_status_full.mp", "status", "05162", 20, status);
    rc |= S_MSG ("ok_revise_minimal.mp", "OK", "revise", "05162004", 0x38, S_REF,
                 S_PAIR ("fields", S_RAW ("\x81\xa5title\xa8Zwilling")));
    rc |= s_built (dir, m, "ok_revise_full.mp", "revise", "05162004", 21, revise);
    rc |= S_MSG ("ok_comment_minimal.mp", "OK", "comment", "05162024", 0x39, S_REF,
                 S_PAIR ("text", S_STR ("Gute Idee.")));
    rc |= s_built (dir, m, "ok_comment_full.mp", "comment", "05162028", 22, comment);
    /* texts: LF and TAB in a multi-line text; characters, not bytes */
    rc |= s_vector (dir, m, "ok_description_lf_tab.mp", "OK",
                    (s_shape_t) { S_POST ("description", S_STR ("Zeile 1\nZeile 2\tmit Tab")),
                                  .id_tail = 0x3a }, 0, NULL);
    rc |= s_vector (dir, m, "ok_title_200_umlauts.mp", "OK",
                    (s_shape_t) { .title = s_repeat (umlauts, "\xc3\xa4", 200),
                                  .id_tail = 0x3b }, 0, NULL);
    rc |= s_vector (dir, m, "ok_title_200_4_byte_chars.mp", "OK",
                    (s_shape_t) { .title = s_repeat (wide, "\xf0\x9f\x98\x80", 200),
                                  .id_tail = 0x3c }, 0, NULL);
    return rc;
}

/* Envelopes that are not well-formed msgpack, too large, or too deep. */
static int
s_frames (const char *dir, FILE *m)
{
    const uint8_t deep [] = { 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x01 };
    const uint8_t huge_array [] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
    const uint8_t huge_map [] = { 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1, 0x76, 0x01 };
    const uint8_t huge_str [] = { 0xdb, 0xff, 0xff, 0xff, 0xf0, 0x61 };
    const uint8_t top_array [] = { 0x92, 0x01, 0x02 };
    int rc = 0;
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
    /* levels: the envelope 1, body 2, keywords 3; arrays inside it 4, 5, ... */
    rc |= s_vector (dir, m, "bad_depth_8.mp", "WRONG_TYPE id",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\x91\x91\x91\x91\x91\xa1x")) },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_depth_9.mp", "MALFORMED",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\x91\x91\x91\x91\x91\x91\xa1x")) },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_depth_9_empty.mp", "MALFORMED",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\x91\x91\x91\x91\x91\x90")) },
                    0, NULL);
    rc |= s_sized (dir, m, "bad_size_65536.mp", "RANGE id", KH_ENVELOPE_MAX);
    rc |= s_sized (dir, m, "bad_size_65537.mp", "TOO_LARGE", KH_ENVELOPE_MAX + 1);
    return rc;
}

/* The envelope's own keys. */
static int
s_keys_bad (const char *dir, FILE *m)
{
    int rc = 0;
    rc |= s_vector (dir, m, "bad_missing_v.mp", "MISSING id", (s_shape_t) { .env [K_V] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_id.mp", "MISSING", (s_shape_t) { .env [K_ID] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_type.mp", "MISSING id", (s_shape_t) { .env [K_TYPE] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_from.mp", "MISSING id", (s_shape_t) { .env [K_FROM] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_ts.mp", "MISSING id", (s_shape_t) { .env [K_TS] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_body.mp", "MISSING id", (s_shape_t) { .env [K_BODY] = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_missing_title.mp", "MISSING id", (s_shape_t) { .title = S_SKIP }, 0, NULL);
    rc |= s_vector (dir, m, "bad_unknown_type.mp", "TYPE id", (s_shape_t) { .env [K_TYPE] = S_STR ("poll") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_not_ags.mp", "VALUE id", (s_shape_t) { .env [K_FROM] = S_STR ("0516200X") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_6_digits.mp", "VALUE id", (s_shape_t) { .env [K_FROM] = S_STR ("051620") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_unknown_envelope_key.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { S_EXTRA ("prio", S_UINT (1)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_envelope_key_int.mp", "WRONG_TYPE id",
                    (s_shape_t) { .extra = { S_UINT (1), S_UINT (1) } }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_twice.mp", "MALFORMED id", (s_shape_t) { S_EXTRA ("v", S_UINT (1)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_twice.mp", "MALFORMED",
                    (s_shape_t) { S_EXTRA ("id", S_RAW ("\xc4\x10\x01\x7c\xe4\x2a\x38\x00\x70\x01"
                                                        "\x80\x00\x00\x00\x00\x00\x00\x2a")) },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_v_string.mp", "WRONG_TYPE id", (s_shape_t) { .env [K_V] = S_STR ("1") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_float.mp", "WRONG_TYPE id", (s_shape_t) { .env [K_V] = S_FLOAT (1.0) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_2.mp", "VERSION id", (s_shape_t) { .env [K_V] = S_UINT (2) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_0.mp", "VERSION id", (s_shape_t) { .env [K_V] = S_UINT (0) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_v_negative.mp", "VERSION id", (s_shape_t) { .env [K_V] = S_INT (-1) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_string.mp", "WRONG_TYPE", (s_shape_t) { .env [K_ID] = S_STR ("1") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_15_bytes.mp", "RANGE",
                    (s_shape_t) { .env [K_ID] = S_RAW ("\xc4\x0f" "0123456789abcde") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_id_all_zero.mp", "VALUE id",
                    (s_shape_t) { .env [K_ID] = S_RAW ("\xc4\x10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0") },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_type_int.mp", "WRONG_TYPE id", (s_shape_t) { .env [K_TYPE] = S_UINT (7) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_type_empty.mp", "TYPE id", (s_shape_t) { .env [K_TYPE] = S_STR ("") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_type_17_bytes.mp", "TYPE id",
                    (s_shape_t) { .env [K_TYPE] = S_STR ("ideaideaideaideai") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_type_invalid_utf8.mp", "UTF8 id",
                    (s_shape_t) { .env [K_TYPE] = S_STR ("ide\xe1") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_type_nul.mp", "VALUE id", (s_shape_t) { .env [K_TYPE] = S_STR ("idea\0") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_from_int.mp", "WRONG_TYPE id", (s_shape_t) { .env [K_FROM] = S_UINT (7) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_zero.mp", "RANGE id", (s_shape_t) { .env [K_TS] = S_UINT (0) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_negative.mp", "RANGE id",
                    (s_shape_t) { .env [K_TS] = S_INT (-1635897600000LL) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_year_10000.mp", "RANGE id",
                    (s_shape_t) { .env [K_TS] = S_UINT (253402300800000ULL) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_float.mp", "WRONG_TYPE id",
                    (s_shape_t) { .env [K_TS] = S_FLOAT (1635897600000.0) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_ts_timestamp_ext.mp", "WRONG_TYPE id",
                    (s_shape_t) { .env [K_TS] = S_RAW ("\xd6\xff\x61\x81\xd1\x00") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_body_array.mp", "WRONG_TYPE id", (s_shape_t) { .env [K_BODY] = S_RAW ("\x90") }, 0, NULL);
    return rc;
}

/* The body and its fields. */
static int
s_body_bad (const char *dir, FILE *m)
{
    static char t201 [201], licence [65], maturity [65];
    memset (t201, 'a', sizeof t201);
    memset (licence, 'A', sizeof licence);
    memset (maturity, 's', sizeof maturity);
    static char t201_nul [201], t201_utf8 [201];
    memcpy (t201_nul, t201, sizeof t201);
    t201_nul [100] = 0;
    memcpy (t201_utf8, t201, sizeof t201);
    t201_utf8 [100] = (char) 0xff;
    static char big [70000];
    memset (big, 'x', sizeof big);
    int rc = 0;
    rc |= s_vector (dir, m, "bad_unknown_body_field.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { S_POST ("titel", S_STR ("x")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_body_key_int.mp", "WRONG_TYPE id",
                    (s_shape_t) { .post = { S_UINT (1), S_STR ("x") } }, 0, NULL);
    rc |= s_vector (dir, m, "bad_idea_field_on_offer.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { .env [K_TYPE] = S_STR ("offer"),
                                  S_POST ("benefit", S_STR ("less travel")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_empty.mp", "RANGE id", (s_shape_t) { .title = S_STR ("") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_201_bytes.mp", "RANGE id",
                    (s_shape_t) { .title = s_text (t201, sizeof t201) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_invalid_utf8.mp", "UTF8 id",
                    (s_shape_t) { .title = S_STR ("bad \xc3\x28 byte") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_overlong_utf8.mp", "UTF8 id",
                    (s_shape_t) { .title = S_STR ("slash \xc0\xaf") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_surrogate.mp", "UTF8 id",
                    (s_shape_t) { .title = S_STR ("half \xed\xa0\x80") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_nul.mp", "VALUE id", (s_shape_t) { .title = S_STR ("a\0b") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_201_bytes_nul.mp", "RANGE id",
                    (s_shape_t) { .title = s_text (t201_nul, sizeof t201_nul) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_201_bytes_invalid_utf8.mp", "UTF8 id",
                    (s_shape_t) { .title = s_text (t201_utf8, sizeof t201_utf8) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_twice.mp", "MALFORMED id",
                    (s_shape_t) { S_POST ("title", S_STR ("again")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_6.mp", "RANGE id", (s_shape_t) { S_POST ("hf", S_UINT (6)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_0.mp", "RANGE id", (s_shape_t) { S_POST ("hf", S_UINT (0)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_negative.mp", "RANGE id", (s_shape_t) { S_POST ("hf", S_INT (-1)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_string.mp", "WRONG_TYPE id", (s_shape_t) { S_POST ("hf", S_STR ("2")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_float.mp", "WRONG_TYPE id", (s_shape_t) { S_POST ("hf", S_FLOAT (2.0)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_hf_nil.mp", "WRONG_TYPE id", (s_shape_t) { S_POST ("hf", S_NIL) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keywords_21.mp", "RANGE id", (s_shape_t) { S_POST ("keywords", S_FN (v_kw21)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keyword_not_str.mp", "WRONG_TYPE id",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\x07")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keyword_empty.mp", "RANGE id",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\xa0")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keyword_nul.mp", "VALUE id",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\xa3" "a\0b")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_participant_not_ags.mp", "VALUE id",
                    (s_shape_t) { S_POST ("participants", S_RAW ("\x91\xa8" "0516200X")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_participant_repeated.mp", "VALUE id",
                    (s_shape_t) { S_POST ("participants", S_RAW ("\x92\xa8" "05162012" "\xa8" "05162012")) },
                    0, NULL);
    /* a maturity is not a lifecycle stage: done is a status message's */
    rc |= s_vector (dir, m, "bad_maturity_unknown.mp", "VALUE id", (s_shape_t) { S_POST ("maturity", S_STR ("done")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_maturity_empty.mp", "VALUE id", (s_shape_t) { S_POST ("maturity", S_STR ("")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_maturity_65_bytes.mp", "VALUE id",
                    (s_shape_t) { S_POST ("maturity", s_text (maturity, sizeof maturity)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_status_field_on_idea.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { S_POST ("status", S_STR ("beta")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_not_a_date.mp", "VALUE id",
                    (s_shape_t) { S_POST ("start", S_STR ("2022-02-30")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_1900_02_29.mp", "VALUE id",
                    (s_shape_t) { S_POST ("start", S_STR ("1900-02-29")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_year_0000.mp", "VALUE id",
                    (s_shape_t) { S_POST ("start", S_STR ("0000-01-01")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_short.mp", "VALUE id",
                    (s_shape_t) { S_POST ("start", S_STR ("2022-3-30")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_start_int.mp", "WRONG_TYPE id",
                    (s_shape_t) { S_POST ("start", S_UINT (20220330)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_licence_too_long.mp", "RANGE id",
                    (s_shape_t) { .env [K_TYPE] = S_STR ("offer"),
                                  S_POST ("licence", s_text (licence, sizeof licence)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_oversized.mp", "TOO_LARGE",
                    (s_shape_t) { S_POST ("description", s_text (big, sizeof big)) }, 0, NULL);
    return rc;
}

/* Messages about an item and the new item types, refused by the envelope's rules
   alone (what the hub's state decides has no vector: PROTOCOL.md section 13). */
static int
s_items_bad (const char *dir, FILE *m)
{
    int rc = 0;
    s_pair_t join = S_PAIR ("action", S_STR ("join"));
    rc |= S_MSG ("bad_ref_missing.mp", "MISSING id", "interest", "05162012", 0, join);
    rc |= S_MSG ("bad_ref_as_text.mp", "WRONG_TYPE id", "interest", "05162012", 0,
                 S_PAIR ("ref", S_STR (S_ITEM_TEXT)), join);
    rc |= S_MSG ("bad_ref_15_bytes.mp", "RANGE id", "interest", "05162012", 0,
                 S_PAIR ("ref", S_RAW ("\xc4\x0f" "0123456789abcde")), join);
    rc |= S_MSG ("bad_ref_17_bytes.mp", "RANGE id", "interest", "05162012", 0,
                 S_PAIR ("ref", S_RAW ("\xc4\x11" "0123456789abcdefg")), join);
    rc |= S_MSG ("bad_ref_all_zero.mp", "VALUE id", "interest", "05162012", 0,
                 S_PAIR ("ref", S_RAW ("\xc4\x10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")), join);
    rc |= S_MSG ("bad_ref_on_idea.mp", "UNKNOWN_FIELD id", "idea", "05162012", 0,
                 S_PAIR ("title", S_STR ("Antwort")), S_REF);
    rc |= S_MSG ("bad_action_missing.mp", "MISSING id", "interest", "05162012", 0, S_REF);
    rc |= S_MSG ("bad_action_unknown.mp", "VALUE id", "interest", "05162012", 0, S_REF,
                 S_PAIR ("action", S_STR ("joined")));
    rc |= S_MSG ("bad_interest_text_empty.mp", "RANGE id", "interest", "05162012", 0, S_REF,
                 join, S_PAIR ("text", S_STR ("")));
    rc |= S_MSG ("bad_status_missing.mp", "MISSING id", "status", "05162004", 0, S_REF);
    rc |= S_MSG ("bad_status_maturity_value.mp", "VALUE id", "status", "05162004", 0, S_REF,
                 S_PAIR ("status", S_STR ("beta")));
    rc |= S_MSG ("bad_status_int.mp", "WRONG_TYPE id", "status", "05162004", 0, S_REF,
                 S_PAIR ("status", S_UINT (3)));
    rc |= S_MSG ("bad_revise_fields_missing.mp", "MISSING id", "revise", "05162004", 0, S_REF);
    rc |= S_MSG ("bad_revise_fields_empty.mp", "RANGE id", "revise", "05162004", 0, S_REF,
                 S_PAIR ("fields", S_RAW ("\x80")));
    rc |= S_MSG ("bad_revise_fields_not_map.mp", "WRONG_TYPE id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x91\xa5title")));
    rc |= S_MSG ("bad_revise_fields_unknown.mp", "UNKNOWN_FIELD id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\xa6" "colour\xa3red")));
    rc |= S_MSG ("bad_revise_fields_ref.mp", "UNKNOWN_FIELD id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\xa3ref\xc4\x10" S_ITEM_ID)));
    rc |= S_MSG ("bad_revise_fields_key_int.mp", "WRONG_TYPE id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\x01\xa1x")));
    rc |= S_MSG ("bad_revise_fields_twice.mp", "MALFORMED id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x82\xa5title\xa1x\xa5title\xa1y")));
    rc |= S_MSG ("bad_revise_fields_title_empty.mp", "RANGE id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\xa5title\xa0")));
    rc |= S_MSG ("bad_revise_fields_hf_6.mp", "RANGE id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\xa2hf\x06")));
    rc |= S_MSG ("bad_revise_fields_title_lf.mp", "VALUE id", "revise", "05162004", 0,
                 S_REF, S_PAIR ("fields", S_RAW ("\x81\xa5title\xa3" "a\nb")));
    rc |= S_MSG ("bad_comment_no_text.mp", "MISSING id", "comment", "05162024", 0, S_REF);
    rc |= S_MSG ("bad_comment_text_empty.mp", "RANGE id", "comment", "05162024", 0, S_REF,
                 S_PAIR ("text", S_STR ("")));
    rc |= S_MSG ("bad_comment_cr.mp", "VALUE id", "comment", "05162024", 0, S_REF,
                 S_PAIR ("text", S_STR ("Zeile\r\nZeile")));
    rc |= S_MSG ("bad_comment_title.mp", "UNKNOWN_FIELD id", "comment", "05162024", 0, S_REF,
                 S_PAIR ("title", S_STR ("Betreff")), S_PAIR ("text", S_STR ("x")));
    rc |= S_MSG ("bad_request_no_title.mp", "MISSING id", "request", "05162008", 0,
                 S_PAIR ("hf", S_UINT (2)));
    rc |= S_MSG ("bad_announcement_from_municipality.mp", "FORBIDDEN id", "announcement",
                 "05162004", 0, S_PAIR ("title", S_STR ("Fortbildung")));
    return rc;
}

/* Texts: characters, not bytes; control characters. */
static int
s_texts_bad (const char *dir, FILE *m)
{
    static char umlauts [402], big [8001];
    memset (big, 'x', sizeof big);
    int rc = 0;
    rc |= s_vector (dir, m, "bad_title_201_umlauts.mp", "RANGE id",
                    (s_shape_t) { .title = s_repeat (umlauts, "\xc3\xa4", 201) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_lf.mp", "VALUE id", (s_shape_t) { .title = S_STR ("eins\nzwei") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_tab.mp", "VALUE id", (s_shape_t) { .title = S_STR ("eins\tzwei") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_escape.mp", "VALUE id", (s_shape_t) { .title = S_STR ("\x1b[31mrot") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_del.mp", "VALUE id", (s_shape_t) { .title = S_STR ("a\x7f") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_title_c1_next_line.mp", "VALUE id",
                    (s_shape_t) { .title = S_STR ("eins\xc2\x85zwei") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_description_cr.mp", "VALUE id",
                    (s_shape_t) { S_POST ("description", S_STR ("Zeile\r\nZeile")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_description_8001_chars.mp", "RANGE id",
                    (s_shape_t) { S_POST ("description", s_text (big, sizeof big)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_keyword_lf.mp", "VALUE id",
                    (s_shape_t) { S_POST ("keywords", S_RAW ("\x91\xa3" "a\nb")) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_contact_tab.mp", "VALUE id",
                    (s_shape_t) { S_POST ("contact", S_STR ("Herr\tMeier")) }, 0, NULL);
    return rc;
}

/* Two problems at once: the one PROTOCOL.md's order checks first is reported. */
static int
s_order (const char *dir, FILE *m)
{
    int rc = 0;
    rc |= s_vector (dir, m, "bad_order_version_before_id.mp", "VERSION",
                    (s_shape_t) { .env [K_V] = S_UINT (2), .env [K_ID] = S_STR ("1") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_order_unknown_key_before_type.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { .env [K_TYPE] = S_STR ("poll"), S_EXTRA ("prio", S_UINT (1)) },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_order_body_keys_before_values.mp", "UNKNOWN_FIELD id",
                    (s_shape_t) { S_PRE ("hf", S_STR ("2")), S_POST ("titel", S_STR ("x")) },
                    0, NULL);
    rc |= s_vector (dir, m, "bad_order_table_order.mp", "RANGE id",
                    (s_shape_t) { S_PRE ("hf", S_STR ("2")), .title = S_STR ("") }, 0, NULL);
    rc |= s_vector (dir, m, "bad_order_missing_title_first.mp", "MISSING id",
                    (s_shape_t) { .title = S_SKIP, S_POST ("hf", S_UINT (9)) }, 0, NULL);
    rc |= s_vector (dir, m, "bad_order_list_count_before_items.mp", "RANGE id",
                    (s_shape_t) { S_POST ("keywords", S_FN (v_kw21_ints)) }, 0, NULL);
    static char t201 [202];
    memset (t201, 'a', sizeof t201);
    t201 [0] = '\n';
    rc |= s_vector (dir, m, "bad_order_chars_before_control.mp", "RANGE id",
                    (s_shape_t) { .title = s_text (t201, 201) }, 0, NULL);
    rc |= S_MSG ("bad_order_body_before_sender.mp", "MISSING id", "announcement", "05162004",
                 0, S_PAIR ("hf", S_UINT (2)));
    rc |= S_MSG ("bad_order_fields_keys_before_values.mp", "UNKNOWN_FIELD id", "revise",
                 "05162004", 0, S_REF,
                 S_PAIR ("fields", S_RAW ("\x82\xa2hf\x09\xa6" "colour\xa3red")));
    rc |= S_MSG ("bad_order_ref_before_fields.mp", "WRONG_TYPE id", "revise", "05162004", 0,
                 S_PAIR ("fields", S_RAW ("\x81\xa6" "colour\xa3red")),
                 S_PAIR ("ref", S_STR (S_ITEM_TEXT)));
    return rc;
}

/* The query vectors, answered after every envelope above: 28 stored messages, 1
   offer, 15 ideas, 2 requests, 2 announcements, 2 interests, 2 status, 2 revise and
   2 comment messages; 5 from 05162, 1 idea from 05162 (PROTOCOL.md section 10). */
static int
s_queries (const char *dir, FILE *q)
{
    static char type [65600];
    memset (type, 't', sizeof type);
    const uint8_t deep [] = { 0x82, 0xa3, 'r', 'e', 'q', 0x07, 0xa1, 'x',
                              0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x90 };
    int rc = 0;
    rc |= S_Q ("query_req_only.mp", "ROWS 28", S_REQ);
    rc |= S_Q ("query_limit_0.mp", "ROWS 28", S_REQ, S_PAIR ("limit", S_UINT (0)));
    rc |= S_Q ("query_limit_2.mp", "ROWS 2", S_REQ, S_PAIR ("limit", S_UINT (2)));
    rc |= S_Q ("query_limit_5000.mp", "ROWS 28", S_REQ, S_PAIR ("limit", S_UINT (5000)));
    rc |= S_Q ("query_bounds_0.mp", "ROWS 28", S_REQ, S_PAIR ("since_seq", S_UINT (0)),
               S_PAIR ("until_seq", S_UINT (0)), S_PAIR ("since_at", S_UINT (0)),
               S_PAIR ("until_at", S_UINT (0)));
    rc |= S_Q ("query_since_seq_12.mp", "ROWS 17", S_REQ, S_PAIR ("since_seq", S_UINT (12)));
    rc |= S_Q ("query_until_seq_3.mp", "ROWS 3", S_REQ, S_PAIR ("until_seq", S_UINT (3)));
    rc |= S_Q ("query_since_after_until.mp", "ROWS 0", S_REQ, S_PAIR ("since_seq", S_UINT (5)),
               S_PAIR ("until_seq", S_UINT (3)));
    rc |= S_Q ("query_until_at_1.mp", "ROWS 0", S_REQ, S_PAIR ("until_at", S_UINT (1)));
    rc |= S_Q ("query_since_at_max.mp", "ROWS 0", S_REQ,
               S_PAIR ("since_at", S_UINT (UINT64_MAX)));
    rc |= S_Q ("query_type_offer.mp", "ROWS 1", S_REQ, S_PAIR ("type", S_STR ("offer")));
    rc |= S_Q ("query_type_announcement.mp", "ROWS 2", S_REQ,
               S_PAIR ("type", S_STR ("announcement")));
    rc |= S_Q ("query_type_comment.mp", "ROWS 2", S_REQ, S_PAIR ("type", S_STR ("comment")));
    rc |= S_Q ("query_from_kreis.mp", "ROWS 5", S_REQ, S_PAIR ("from", S_STR ("05162")));
    rc |= S_Q ("query_type_and_from.mp", "ROWS 1", S_REQ, S_PAIR ("type", S_STR ("idea")),
               S_PAIR ("from", S_STR ("05162")));
    rc |= S_Q ("query_integer_formats.mp", "ROWS 2", S_PAIR ("req", S_RAW ("\xd0\x07")),
               S_PAIR ("limit", S_RAW ("\xd1\x00\x02")));
    /* the frame's rules, as for an envelope */
    rc |= s_write (dir, q, "query_empty.mp", "MALFORMED", "", 0);
    rc |= s_write (dir, q, "query_not_msgpack.mp", "MALFORMED", "\xc1", 1);
    rc |= s_write (dir, q, "query_json_text.mp", "MALFORMED", "{\"req\":7}", 9);
    rc |= s_query (dir, q, "query_trailing_bytes.mp", "MALFORMED", &S_REQ, 1, "\x01");
    rc |= s_write (dir, q, "query_truncated.mp", "MALFORMED", "\x81\xa3req", 5);
    rc |= s_write (dir, q, "query_too_deep.mp", "MALFORMED", deep, sizeof deep);
    rc |= S_Q ("query_65536_bytes.mp", "QUERY req=7", S_REQ,
               S_PAIR ("type", s_text (type, KH_ENVELOPE_MAX - 14)));
    rc |= S_Q ("query_65537_bytes.mp", "TOO_LARGE", S_REQ,
               S_PAIR ("type", s_text (type, KH_ENVELOPE_MAX - 13)));
    /* everything else is QUERY */
    rc |= s_write (dir, q, "query_top_array.mp", "QUERY", "\x91\x07", 2);
    rc |= s_write (dir, q, "query_no_req.mp", "QUERY", "\x80", 1);
    rc |= S_Q ("query_req_0.mp", "QUERY", S_PAIR ("req", S_UINT (0)));
    rc |= S_Q ("query_req_negative.mp", "QUERY", S_PAIR ("req", S_INT (-7)));
    rc |= S_Q ("query_req_string.mp", "QUERY", S_PAIR ("req", S_STR ("7")));
    rc |= S_Q ("query_req_twice.mp", "QUERY", S_REQ, S_REQ);
    rc |= S_Q ("query_limit_twice.mp", "QUERY req=7", S_REQ, S_PAIR ("limit", S_UINT (1)),
               S_PAIR ("limit", S_UINT (2)));
    rc |= S_Q ("query_unknown_key.mp", "QUERY req=7", S_REQ, S_PAIR ("max", S_UINT (1)));
    rc |= S_Q ("query_key_int.mp", "QUERY req=7", S_REQ, { S_UINT (1), S_UINT (1) });
    rc |= S_Q ("query_since_seq_negative.mp", "QUERY req=7", S_REQ,
               S_PAIR ("since_seq", S_INT (-1)));
    rc |= S_Q ("query_limit_float.mp", "QUERY req=7", S_REQ, S_PAIR ("limit", S_FLOAT (2.0)));
    rc |= S_Q ("query_limit_nil.mp", "QUERY req=7", S_REQ, S_PAIR ("limit", S_NIL));
    rc |= S_Q ("query_type_unknown.mp", "QUERY req=7", S_REQ, S_PAIR ("type", S_STR ("poll")));
    rc |= S_Q ("query_type_empty.mp", "QUERY req=7", S_REQ, S_PAIR ("type", S_STR ("")));
    rc |= S_Q ("query_from_not_ags.mp", "QUERY req=7", S_REQ, S_PAIR ("from", S_STR ("0516200X")));
    rc |= S_Q ("query_from_int.mp", "QUERY req=7", S_REQ, S_PAIR ("from", S_UINT (5162004)));
    return rc;
}

/* Lists made by code: every message type twice (16 values, 8 distinct), and 17
   values, one more than a list may hold. */
static void
v_types_16 (msgpack_packer *pk)
{
    static const char *const types [] = { "idea", "offer", "request", "announcement",
                                          "interest", "status", "revise", "comment" };
    msgpack_pack_array (pk, 16);
    for (int i = 0; i < 16; i++)
        s_pack (pk, s_text (types [i % 8], strlen (types [i % 8])));
}

static void
v_ideas_17 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 17);
    for (int i = 0; i < 17; i++)
        s_pack (pk, S_STR ("idea"));
}

static void
v_stages_17 (msgpack_packer *pk)
{
    msgpack_pack_array (pk, 17);
    for (int i = 0; i < 17; i++)
        s_pack (pk, S_STR ("proposed"));
}

/* ok_interest_minimal's id: a message about the item, itself no item. */
#define S_INTEREST_ID "\x01\x7c\xe4\x2a\x38\x00\x70\x01\x80\x00\x00\x00\x00\x00\x00\x36"
#define S_BIN16(id) S_RAW ("\xc4\x10" id)

/* QUERY's filters of section 5 beyond type, from and the bounds: lists of types and
   senders, region prefixes, publication times, an item, a search. Of the 28 stored
   messages 5 are from 05162, 17 from 05162004, 1 from 05162008, 2 from 05162012
   (the full request, an interest), 1 each from 05162016, 05162024 and 05162028; all
   were published at S_TS; the item ok_idea_minimal (seq 3) has 8 messages about it
   (a ref that names a message that is no item selects nothing). A search finds
   what the index holds, which follows the log 100 ms after the last publish
   (section 9): query_search_200_chars finds seq 27, ok_title_200_umlauts, the last
   message with a word (and, diacritics ignored, seq 6, ok_title_200_bytes), so
   it_wire waits for both before it sends these. */
static int
s_query_filters (const char *dir, FILE *q)
{
    static char wide [402];
    int rc = 0;
    rc |= S_Q ("query_type_list.mp", "ROWS 3", S_REQ,
               S_PAIR ("type", S_STRS ("offer", "announcement")));
    rc |= S_Q ("query_type_list_repeated.mp", "ROWS 2", S_REQ,
               S_PAIR ("type", S_STRS ("comment", "comment")));
    rc |= S_Q ("query_type_list_16.mp", "ROWS 28", S_REQ, S_PAIR ("type", S_FN (v_types_16)));
    rc |= S_Q ("query_from_list.mp", "ROWS 6", S_REQ,
               S_PAIR ("from", S_STRS ("05162", "05162008")));
    rc |= S_Q ("query_from_prefix.mp", "ROWS 3", S_REQ, S_PAIR ("from", S_STR ("0516201*")));
    rc |= S_Q ("query_from_prefix_1_digit.mp", "ROWS 28", S_REQ, S_PAIR ("from", S_STR ("0*")));
    rc |= S_Q ("query_from_prefix_8_digits.mp", "ROWS 1", S_REQ,
               S_PAIR ("from", S_STR ("05162024*")));
    rc |= S_Q ("query_from_list_mixed.mp", "ROWS 3", S_REQ,
               S_PAIR ("from", S_STRS ("0516202*", "05162016")));
    rc |= S_Q ("query_since_ts.mp", "ROWS 28", S_REQ, S_PAIR ("since_ts", S_UINT (S_TS)));
    rc |= S_Q ("query_ts_range.mp", "ROWS 28", S_REQ, S_PAIR ("since_ts", S_UINT (S_TS)),
               S_PAIR ("until_ts", S_UINT (S_TS)));
    rc |= S_Q ("query_since_ts_after.mp", "ROWS 0", S_REQ,
               S_PAIR ("since_ts", S_UINT (S_TS + 1)));
    rc |= S_Q ("query_until_ts_before.mp", "ROWS 0", S_REQ,
               S_PAIR ("until_ts", S_UINT (S_TS - 1)));
    rc |= S_Q ("query_ref.mp", "ROWS 9", S_REQ, S_REF);
    rc |= S_Q ("query_ref_and_type.mp", "ROWS 2", S_REQ, S_REF,
               S_PAIR ("type", S_STR ("comment")));
    rc |= S_Q ("query_ref_not_an_item.mp", "ROWS 0", S_REQ,
               S_PAIR ("ref", S_BIN16 (S_INTEREST_ID)));
    rc |= S_Q ("query_ref_unknown.mp", "ROWS 0", S_REQ,
               S_PAIR ("ref", S_BIN16 ("\x01\x7c\xe4\x2a\x38\x00\x70\x01\x80\0\0\0\0\0\0\xff")));
    rc |= S_Q ("query_search.mp", "ROWS 1", S_REQ, S_PAIR ("search", S_STR ("LoRaWAN")));
    rc |= S_Q ("query_search_words.mp", "ROWS 1", S_REQ,
               S_PAIR ("search", S_STR ("  Rueckmeldung   Maerz ")));
    rc |= S_Q ("query_search_case_diacritics.mp", "ROWS 1", S_REQ,
               S_PAIR ("search", S_STR ("B\xc3\x9cRGERB\xc3\x9cRO")));
    rc |= S_Q ("query_search_prefix.mp", "ROWS 1", S_REQ, S_PAIR ("search", S_STR ("Geoport*")));
    rc |= S_Q ("query_search_none.mp", "ROWS 0", S_REQ,
               S_PAIR ("search", S_STR ("Gartenzwerg")));
    rc |= S_Q ("query_search_200_chars.mp", "ROWS 2", S_REQ,
               S_PAIR ("search", s_repeat (wide, "\xc3\xa4", 200)));
    /* their refusals: QUERY, req echoed */
    rc |= S_Q ("query_type_list_17.mp", "QUERY req=7", S_REQ,
               S_PAIR ("type", S_FN (v_ideas_17)));
    rc |= S_Q ("query_type_array_empty.mp", "QUERY req=7", S_REQ, S_PAIR ("type", S_RAW ("\x90")));
    rc |= S_Q ("query_type_array_int.mp", "QUERY req=7", S_REQ,
               S_PAIR ("type", S_RAW ("\x92\xa4" "idea\x07")));
    rc |= S_Q ("query_type_list_unknown.mp", "QUERY req=7", S_REQ,
               S_PAIR ("type", S_STRS ("idea", "poll")));
    rc |= S_Q ("query_from_prefix_letter.mp", "QUERY req=7", S_REQ,
               S_PAIR ("from", S_STR ("05x*")));
    rc |= S_Q ("query_from_star.mp", "QUERY req=7", S_REQ, S_PAIR ("from", S_STR ("*")));
    rc |= S_Q ("query_from_prefix_9_digits.mp", "QUERY req=7", S_REQ,
               S_PAIR ("from", S_STR ("051620241*")));
    rc |= S_Q ("query_from_list_bad.mp", "QUERY req=7", S_REQ,
               S_PAIR ("from", S_STRS ("05162", "0516*2")));
    rc |= S_Q ("query_since_ts_float.mp", "QUERY req=7", S_REQ,
               S_PAIR ("since_ts", S_FLOAT (1635897600000.0)));
    rc |= S_Q ("query_until_ts_negative.mp", "QUERY req=7", S_REQ,
               S_PAIR ("until_ts", S_INT (-1)));
    rc |= S_Q ("query_ref_15_bytes.mp", "QUERY req=7", S_REQ,
               S_PAIR ("ref", S_RAW ("\xc4\x0f" "0123456789abcde")));
    rc |= S_Q ("query_ref_all_zero.mp", "QUERY req=7", S_REQ,
               S_PAIR ("ref", S_BIN16 ("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")));
    rc |= S_Q ("query_ref_as_text.mp", "QUERY req=7", S_REQ,
               S_PAIR ("ref", S_STR (S_ITEM_TEXT)));
    rc |= S_Q ("query_search_empty.mp", "QUERY req=7", S_REQ, S_PAIR ("search", S_STR ("")));
    rc |= S_Q ("query_search_blanks.mp", "QUERY req=7", S_REQ, S_PAIR ("search", S_STR ("   ")));
    rc |= S_Q ("query_search_201_chars.mp", "QUERY req=7", S_REQ,
               S_PAIR ("search", s_repeat (wide, "\xc3\xa4", 201)));
    rc |= S_Q ("query_search_tab.mp", "QUERY req=7", S_REQ,
               S_PAIR ("search", S_STR ("Zwilling\tKreis")));
    rc |= S_Q ("query_search_c1.mp", "QUERY req=7", S_REQ,
               S_PAIR ("search", S_STR ("Zwilling\xc2\x85")));
    rc |= S_Q ("query_search_invalid_utf8.mp", "QUERY req=7", S_REQ,
               S_PAIR ("search", S_STR ("Zwilling\xc3")));
    rc |= S_Q ("query_search_int.mp", "QUERY req=7", S_REQ, S_PAIR ("search", S_UINT (3)));
    return rc;
}

/* A read of section 14: the command goes before the answer on the line. */
#define S_R(name, expect, ...) \
    s_query (dir, r, name, expect, (const s_pair_t []) { __VA_ARGS__ }, \
             sizeof ((const s_pair_t []) { __VA_ARGS__ }) / sizeof (s_pair_t), NULL)

/* The catalogue (section 14) after every envelope of MANIFEST: 20 items (15 ideas,
   1 offer, 2 requests, 2 announcements); ok_idea_minimal (seq 3) is decided and
   its last activity is seq 25, every other item is proposed and has none after
   itself. hf 2: 3 items; topic Querschnitt: 3; 05162 owns 4. The valid_until of
   the offer, the full request, the full announcement and (revised) seq 3 lie in the
   past, so 16 items are open. */
static int
s_items_reads (const char *dir, FILE *r)
{
    static char topic [102], big [65600];
    memset (topic, 't', sizeof topic);
    memset (big, 't', sizeof big);
    int rc = 0;
    rc |= S_R ("items_req_only.mp", "ITEMS ROWS 20", S_REQ);
    rc |= S_R ("items_limit_2.mp", "ITEMS ROWS 2", S_REQ, S_PAIR ("limit", S_UINT (2)));
    rc |= S_R ("items_before_3.mp", "ITEMS ROWS 2", S_REQ, S_PAIR ("before", S_UINT (3)));
    rc |= S_R ("items_before_26.mp", "ITEMS ROWS 17", S_REQ, S_PAIR ("before", S_UINT (26)));
    rc |= S_R ("items_id.mp", "ITEMS ROWS 1", S_REQ, S_PAIR ("id", S_BIN16 (S_ITEM_ID)));
    rc |= S_R ("items_id_not_an_item.mp", "ITEMS ROWS 0", S_REQ,
               S_PAIR ("id", S_BIN16 (S_INTEREST_ID)));
    rc |= S_R ("items_type_offer.mp", "ITEMS ROWS 1", S_REQ, S_PAIR ("type", S_STR ("offer")));
    rc |= S_R ("items_type_list.mp", "ITEMS ROWS 4", S_REQ,
               S_PAIR ("type", S_STRS ("request", "announcement")));
    rc |= S_R ("items_from_kreis.mp", "ITEMS ROWS 4", S_REQ, S_PAIR ("from", S_STR ("05162")));
    rc |= S_R ("items_from_prefix.mp", "ITEMS ROWS 15", S_REQ,
               S_PAIR ("from", S_STR ("0516200*")));
    rc |= S_R ("items_status_decided.mp", "ITEMS ROWS 1", S_REQ,
               S_PAIR ("status", S_STR ("decided")));
    rc |= S_R ("items_status_list.mp", "ITEMS ROWS 20", S_REQ,
               S_PAIR ("status", S_STRS ("proposed", "decided")));
    rc |= S_R ("items_status_done.mp", "ITEMS ROWS 0", S_REQ, S_PAIR ("status", S_STR ("done")));
    rc |= S_R ("items_hf_2.mp", "ITEMS ROWS 3", S_REQ, S_PAIR ("hf", S_UINT (2)));
    rc |= S_R ("items_topic.mp", "ITEMS ROWS 3", S_REQ,
               S_PAIR ("topic", S_STR ("Querschnitt")));
    rc |= S_R ("items_topic_100_chars.mp", "ITEMS ROWS 0", S_REQ,
               S_PAIR ("topic", s_text (topic, 100)));
    rc |= S_R ("items_participant.mp", "ITEMS ROWS 3", S_REQ,
               S_PAIR ("participant", S_STR ("05162012")));
    rc |= S_R ("items_participant_kreis.mp", "ITEMS ROWS 2", S_REQ,
               S_PAIR ("participant", S_STR ("05162")));
    rc |= S_R ("items_open.mp", "ITEMS ROWS 16", S_REQ, S_PAIR ("open", S_RAW ("\xc3")));
    rc |= S_R ("items_open_false.mp", "ITEMS ROWS 20", S_REQ, S_PAIR ("open", S_RAW ("\xc2")));
    rc |= S_R ("items_open_announcement.mp", "ITEMS ROWS 1", S_REQ,
               S_PAIR ("type", S_STR ("announcement")), S_PAIR ("open", S_RAW ("\xc3")));
    rc |= S_R ("items_search.mp", "ITEMS ROWS 1", S_REQ, S_PAIR ("search", S_STR ("LoRaWAN")));
    rc |= S_R ("items_search_messages.mp", "ITEMS ROWS 1", S_REQ,
               S_PAIR ("search", S_STR ("Rueckmeldung")));
    /* refusals */
    rc |= s_write (dir, r, "items_no_req.mp", "ITEMS QUERY", "\x80", 1);
    rc |= S_R ("items_req_0.mp", "ITEMS QUERY", S_PAIR ("req", S_UINT (0)));
    rc |= S_R ("items_req_twice.mp", "ITEMS QUERY", S_REQ, S_REQ);
    rc |= S_R ("items_unknown_key.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("since_seq", S_UINT (1)));
    rc |= S_R ("items_key_twice.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("hf", S_UINT (2)),
               S_PAIR ("hf", S_UINT (2)));
    rc |= S_R ("items_hf_0.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("hf", S_UINT (0)));
    rc |= S_R ("items_hf_6.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("hf", S_UINT (6)));
    rc |= S_R ("items_hf_string.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("hf", S_STR ("2")));
    rc |= S_R ("items_status_not_a_stage.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("status", S_STR ("beta")));
    rc |= S_R ("items_status_list_17.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("status", S_FN (v_stages_17)));
    rc |= S_R ("items_type_not_an_item.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("type", S_STR ("interest")));
    rc |= S_R ("items_type_array_empty.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("type", S_RAW ("\x90")));
    rc |= S_R ("items_from_prefix_letter.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("from", S_STR ("05x*")));
    rc |= S_R ("items_id_15_bytes.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("id", S_RAW ("\xc4\x0f" "0123456789abcde")));
    rc |= S_R ("items_id_all_zero.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("id", S_BIN16 ("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")));
    rc |= S_R ("items_id_as_text.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("id", S_STR (S_ITEM_TEXT)));
    rc |= S_R ("items_topic_empty.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("topic", S_STR ("")));
    rc |= S_R ("items_topic_101_chars.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("topic", s_text (topic, 101)));
    rc |= S_R ("items_topic_lf.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("topic", S_STR ("Quer\nschnitt")));
    rc |= S_R ("items_participant_prefix.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("participant", S_STR ("0516*")));
    rc |= S_R ("items_open_string.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("open", S_STR ("true")));
    rc |= S_R ("items_open_int.mp", "ITEMS QUERY req=7", S_REQ, S_PAIR ("open", S_UINT (1)));
    rc |= S_R ("items_search_blanks.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("search", S_STR ("  ")));
    rc |= S_R ("items_before_negative.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("before", S_INT (-3)));
    rc |= S_R ("items_limit_float.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("limit", S_FLOAT (2.0)));
    rc |= s_write (dir, r, "items_top_array.mp", "ITEMS QUERY", "\x91\x07", 2);
    rc |= s_write (dir, r, "items_not_msgpack.mp", "ITEMS MALFORMED", "\xc1", 1);
    rc |= s_query (dir, r, "items_trailing_bytes.mp", "ITEMS MALFORMED", &S_REQ, 1, "\x01");
    rc |= S_R ("items_65536_bytes.mp", "ITEMS QUERY req=7", S_REQ,
               S_PAIR ("type", s_text (big, KH_ENVELOPE_MAX - 14)));
    rc |= S_R ("items_65537_bytes.mp", "ITEMS TOO_LARGE", S_REQ,
               S_PAIR ("type", s_text (big, KH_ENVELOPE_MAX - 13)));
    return rc;
}

/* The counts (section 14): 8 message types, 7 senders, one month (2021-11 in
   Berlin), items of hf none, 1, 2, 3 and 4, items proposed and decided. */
static int
s_stats_reads (const char *dir, FILE *r)
{
    static char big [65600];
    memset (big, 't', sizeof big);
    int rc = 0;
    rc |= S_R ("stats_req_only.mp", "STATS ROWS 0", S_REQ);
    rc |= S_R ("stats_by_empty.mp", "STATS ROWS 0", S_REQ, S_PAIR ("by", S_STR ("")));
    rc |= S_R ("stats_by_type.mp", "STATS ROWS 8", S_REQ, S_PAIR ("by", S_STR ("type")));
    rc |= S_R ("stats_by_municipality.mp", "STATS ROWS 7", S_REQ,
               S_PAIR ("by", S_STR ("municipality")));
    rc |= S_R ("stats_by_month.mp", "STATS ROWS 1", S_REQ, S_PAIR ("by", S_STR ("month")));
    rc |= S_R ("stats_by_hf.mp", "STATS ROWS 5", S_REQ, S_PAIR ("by", S_STR ("hf")));
    rc |= S_R ("stats_by_status.mp", "STATS ROWS 2", S_REQ, S_PAIR ("by", S_STR ("status")));
    rc |= S_R ("stats_by_type_of_types.mp", "STATS ROWS 2", S_REQ, S_PAIR ("by", S_STR ("type")),
               S_PAIR ("type", S_STRS ("offer", "comment")));
    rc |= S_R ("stats_by_municipality_region.mp", "STATS ROWS 2", S_REQ,
               S_PAIR ("by", S_STR ("municipality")), S_PAIR ("from", S_STR ("0516202*")));
    rc |= S_R ("stats_by_month_ts_range.mp", "STATS ROWS 1", S_REQ,
               S_PAIR ("by", S_STR ("month")), S_PAIR ("since_ts", S_UINT (S_TS)),
               S_PAIR ("until_ts", S_UINT (S_TS)));
    rc |= S_R ("stats_by_type_later.mp", "STATS ROWS 0", S_REQ, S_PAIR ("by", S_STR ("type")),
               S_PAIR ("since_ts", S_UINT (S_TS + 1)));
    /* refusals */
    rc |= s_write (dir, r, "stats_no_req.mp", "STATS QUERY", "\x80", 1);
    rc |= S_R ("stats_req_string.mp", "STATS QUERY", S_PAIR ("req", S_STR ("7")));
    rc |= S_R ("stats_unknown_key.mp", "STATS QUERY req=7", S_REQ, S_PAIR ("limit", S_UINT (5)));
    rc |= S_R ("stats_key_twice.mp", "STATS QUERY req=7", S_REQ, S_PAIR ("by", S_STR ("type")),
               S_PAIR ("by", S_STR ("type")));
    rc |= S_R ("stats_by_unknown.mp", "STATS QUERY req=7", S_REQ,
               S_PAIR ("by", S_STR ("weekday")));
    rc |= S_R ("stats_by_capital.mp", "STATS QUERY req=7", S_REQ, S_PAIR ("by", S_STR ("Type")));
    rc |= S_R ("stats_by_int.mp", "STATS QUERY req=7", S_REQ, S_PAIR ("by", S_UINT (1)));
    rc |= S_R ("stats_since_ts_float.mp", "STATS QUERY req=7", S_REQ,
               S_PAIR ("since_ts", S_FLOAT (1.5)));
    rc |= S_R ("stats_until_ts_string.mp", "STATS QUERY req=7", S_REQ,
               S_PAIR ("until_ts", S_STR ("2022-01-01")));
    rc |= S_R ("stats_type_list_17.mp", "STATS QUERY req=7", S_REQ,
               S_PAIR ("type", S_FN (v_ideas_17)));
    rc |= S_R ("stats_type_unknown.mp", "STATS QUERY req=7", S_REQ,
               S_PAIR ("type", S_STR ("poll")));
    rc |= S_R ("stats_from_star.mp", "STATS QUERY req=7", S_REQ, S_PAIR ("from", S_STR ("*")));
    rc |= s_write (dir, r, "stats_top_array.mp", "STATS QUERY", "\x91\x07", 2);
    rc |= s_write (dir, r, "stats_truncated.mp", "STATS MALFORMED", "\x82\xa3req\x07", 6);
    rc |= S_R ("stats_65537_bytes.mp", "STATS TOO_LARGE", S_REQ,
               S_PAIR ("type", s_text (big, KH_ENVELOPE_MAX - 13)));
    return rc;
}

/* The broker's counters (section 14): {req} alone. */
static int
s_counters_reads (const char *dir, FILE *r)
{
    static char big [65600];
    memset (big, 'x', sizeof big);
    int rc = 0;
    rc |= S_R ("counters_req_only.mp", "COUNTERS COUNTERS", S_REQ);
    rc |= S_R ("counters_integer_format.mp", "COUNTERS COUNTERS",
               S_PAIR ("req", S_RAW ("\xd1\x00\x07")));
    rc |= s_write (dir, r, "counters_no_req.mp", "COUNTERS QUERY", "\x80", 1);
    rc |= S_R ("counters_req_0.mp", "COUNTERS QUERY", S_PAIR ("req", S_UINT (0)));
    rc |= S_R ("counters_req_string.mp", "COUNTERS QUERY", S_PAIR ("req", S_STR ("7")));
    rc |= S_R ("counters_req_twice.mp", "COUNTERS QUERY", S_REQ, S_REQ);
    rc |= S_R ("counters_unknown_key.mp", "COUNTERS QUERY req=7", S_REQ,
               S_PAIR ("limit", S_UINT (1)));
    rc |= s_write (dir, r, "counters_top_array.mp", "COUNTERS QUERY", "\x91\x07", 2);
    rc |= s_write (dir, r, "counters_empty.mp", "COUNTERS MALFORMED", "", 0);
    rc |= s_write (dir, r, "counters_not_msgpack.mp", "COUNTERS MALFORMED", "\xc1", 1);
    rc |= S_R ("counters_65537_bytes.mp", "COUNTERS TOO_LARGE", S_REQ,
               S_PAIR ("x", s_text (big, KH_ENVELOPE_MAX - 10)));
    return rc;
}

/* Opens DIR/name for writing; NULL (and says so) if it cannot. */
static FILE *
s_list_open (const char *dir, const char *name)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    if (!file)
        fprintf (stderr, "kreishub-vectors: cannot write %s\n", path);
    return file;
}

static const kh_opt_t s_no_options [] = { { NULL } };

int
main (int argc, char *argv [])
{
    const kh_opts_t opts = {
        .program = "kreishub-vectors", .synopsis = "DIR", .table = s_no_options,
        .version = true,
        .about = "Writes the test vectors, their MANIFEST, QUERIES and READS into DIR "
                 "(schema/vectors).\n"
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
    FILE *m = s_list_open (dir, "MANIFEST");
    FILE *q = m ? s_list_open (dir, "QUERIES") : NULL;
    FILE *r = q ? s_list_open (dir, "READS") : NULL;
    int rc = !m || !q || !r;
    if (!rc) {
        /* in this order: MANIFEST's order is the order the hub sees them in */
        rc |= s_valid (dir, m);
        rc |= s_items (dir, m);
        rc |= s_frames (dir, m);
        rc |= s_keys_bad (dir, m);
        rc |= s_body_bad (dir, m);
        rc |= s_items_bad (dir, m);
        rc |= s_texts_bad (dir, m);
        rc |= s_order (dir, m);
        rc |= s_queries (dir, q);
        rc |= s_query_filters (dir, q);
        rc |= s_items_reads (dir, r);
        rc |= s_stats_reads (dir, r);
        rc |= s_counters_reads (dir, r);
    }
    if (m)
        fclose (m);
    if (q)
        fclose (q);
    if (r)
        fclose (r);
    return rc ? 1 : 0;
}
