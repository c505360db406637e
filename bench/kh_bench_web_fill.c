/*  kh_bench_web_fill.c - the web bench's store: items and the messages about them,
    written through the recorder's own store so that the state is derived as the
    recorder derives it.

    The generator keeps to the rules of PROTOCOL.md section 13 (a status only forward
    and only by the owner or its Kreis, no interest in a closed item, an announcement
    only from the Kreis), so that the store refuses nothing: a refusal is a bug here.
    It draws from a fixed seed; the ids are UUIDv7 whose time is the publication time,
    as the demo's are. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <czmq.h>
#include "kh_bench_web.h"
#include "kh_codec.h"
#include "kh_store.h"

#define S_BATCH         2000            /* envelopes per transaction */
#define S_INDEX_CHUNK   20000           /* messages per step of the search index */
#define S_BEGIN_MS      1672642800000ULL    /* 2023-01-02T07:00Z: the first message */
#define S_DAY_MS        86400000ULL
#define S_FINAL         5               /* stages 0..4 move on; 5 done, 6 withdrawn */
#define S_WITHDRAWN     6
#define S_REFUSALS_SHOWN 5

/* The Kreis and its members, as kh_members' default (the Rhein-Kreis Neuss). */
static const char *const s_senders [KH_BENCH_WEB_SENDERS] = {
    "05162", "05162004", "05162008", "05162012", "05162016", "05162020", "05162022",
    "05162024", "05162028"
};
static const char *const s_places [KH_BENCH_WEB_SENDERS] = {
    "Kreishaus Neuss", "Dormagen", "Grevenbroich", "Jüchen", "Kaarst", "Korschenbroich",
    "Meerbusch", "Neuss", "Rommerskirchen"
};

static const char *const s_types [4] = { "idea", "offer", "request", "announcement" };
static const char *const s_stages [7] = {
    "proposed", "discussion", "decided", "pilot", "rollout", "done", "withdrawn"
};
static const char *const s_actions [4] = { "interested", "join", "decline", "leave" };
static const char *const s_maturity [4] = { "concept", "development", "beta", "stable" };

static const char *const s_subjects [] = {
    "Bauakte", "Terminvergabe im Bürgerbüro", "Ratsinformationssystem", "E-Rechnung",
    "Kita-Platzvergabe", "WLAN an Schulen", "Geodatenportal", "Digitaler Zwilling",
    "Hundesteuer online", "Wohngeldantrag", "Sperrmüllanmeldung", "Friedhofsverwaltung",
    "Baumkataster", "Straßenbeleuchtung mit LoRaWAN", "Parkraummanagement", "Bürger-App",
    "Open-Data-Portal", "Videodolmetschen", "E-Akte", "Posteingangsscan",
    "Gewerbeanmeldung", "Fundbüro online", "Mängelmelder", "Ratssitzungen im Livestream",
    "Tablets für Grundschulen", "IT-Sicherheitsschulung", "Notfallplan Cyberangriff",
    "Telefonanlage in der Cloud", "Wahlhelfer-Portal", "Einsatzplanung der Feuerwehr",
    "Pegelsensoren für Hochwasser", "Energiemonitoring der Liegenschaften",
    "Digitaler Bauantrag", "Elterngeld digital", "Vergabeplattform",
    "KI-Assistent für Bürgeranfragen", "Baulastenverzeichnis", "Fahrzeug-Ummeldung",
    "Schülerbeförderung", "Breitbandausbau"
};
static const char *const s_prefixes [] = {
    "", "", "", "Pilot: ", "Gemeinsame Beschaffung: ", "Erfahrungsaustausch ",
    "Schulung ", "Rahmenvertrag ", "Einführung ", "Ausschreibung ", "Nachnutzung ",
    "Umstellung "
};
static const char *const s_topics [] = {
    "Arbeit und Ruhestand", "Bauen und Wohnen", "Bildung", "Engagement und Hobby",
    "Familie und Kind", "Forschung und Förderung", "Gesundheit", "Mobilität und Reisen",
    "Querschnitt", "Recht und Ordnung", "Steuern und Zoll", "Umwelt",
    "Unternehmensführung und -entwicklung"
};
static const char *const s_keywords [] = {
    "OZG", "Cloud", "Open Source", "Schnittstelle", "Datenschutz", "Barrierefreiheit",
    "Beschaffung", "Förderung", "Schulung", "Bürgerservice", "Geodaten", "IoT",
    "Sicherheit", "Nachnutzung", "EfA", "Registermodernisierung"
};
/* Sentences that name a place: the words before it and after it. */
static const char *const s_placed [][2] = {
    { "Seit dem Frühjahr läuft in ", " ein Test, die Erfahrungen sind bisher gut." },
    { "Eine Schulung für die Sachbearbeitung ist in ", " geplant." },
    { "Die Verwaltung in ", " würde das Verfahren gern nachnutzen." }
};
static const char *const s_sentences [] = {
    "Wir möchten das gemeinsam mit anderen Kommunen des Kreises angehen.",
    "Ziel ist, Wege ins Rathaus zu sparen und Anträge vollständig digital zu bearbeiten.",
    "Die Lösung soll über das Serviceportal erreichbar sein und an die E-Akte angebunden werden.",
    "Für die Beschaffung bietet sich ein gemeinsamer Rahmenvertrag an.",
    "Fördermittel aus dem Programm Digitale Modellregionen sind beantragt.",
    "Der Datenschutzbeauftragte wurde beteiligt, eine Folgenabschätzung liegt vor.",
    "Wer Interesse hat, meldet sich bitte bis Monatsende beim Amt für Digitalisierung.",
    "Die Kosten teilen sich die Beteiligten nach Einwohnerzahl.",
    "Die Schnittstelle folgt dem XÖV-Standard, damit andere sie nachnutzen können.",
    "Im Arbeitskreis der IT-Leitungen wurde das Vorhaben vorgestellt.",
    "Der Betrieb läuft im kommunalen Rechenzentrum, die Daten bleiben in NRW.",
    "Erste Zahlen zeigen, dass die Bearbeitungszeit deutlich sinkt."
};
static const char *const s_comments [] = {
    "Das klingt gut, wir hätten auch Interesse.", "Gibt es schon eine Kostenschätzung?",
    "Bei uns ist das Thema im Haushalt für nächstes Jahr vorgesehen.",
    "Können wir die Unterlagen der Ausschreibung bekommen?",
    "Wir haben gute Erfahrungen mit einem ähnlichen Verfahren gemacht.",
    "Bitte die Personalvertretung früh einbinden.",
    "Der Termin im Arbeitskreis passt uns, wir sind dabei.",
    "Wie sieht es mit der Anbindung an das Fachverfahren aus?",
    "Die Schulung war hilfreich, danke an das Team.",
    "Wir warten noch auf die Freigabe durch den Rat.",
    "Ist eine Nachnutzung durch kleinere Kommunen vorgesehen?",
    "Die Datenschutzfolgenabschätzung können wir gern teilen.",
    "Bei uns hakt es noch an der Schnittstelle zum Einwohnermeldewesen.",
    "Update: der Pilot läuft stabil, keine Störungen seit drei Wochen."
};
static const char *const s_notes [] = {
    "Wir machen mit.", "Interesse besteht, Entscheidung im nächsten Quartal.",
    "Passt derzeit nicht in unsere Planung.", "Wir steigen aus, das Budget fehlt.",
    "Beschluss des Fachausschusses liegt vor.", "Start nach den Sommerferien."
};

/* The generator's view of an item: enough to keep to the rules. */
typedef struct {
    uint8_t  id [KH_ID_SIZE];
    uint8_t  type;                      /* into s_types */
    uint8_t  owner;                     /* into s_senders */
    uint8_t  stage;                     /* into s_stages */
    bool     expired;                   /* valid_until before today: interest is CLOSED */
} s_item_t;

/* The generator: its random state, its items and the batch being built. */
typedef struct {
    uint64_t   rng;
    s_item_t  *items;
    uint32_t   item_count, items_wanted;
    uint32_t   total, made;
    uint64_t   step_ms;                 /* between two messages' publication times */
    uint64_t   today_ms;                /* the store judges expiry against today */
    msgpack_sbuffer out;                /* the batch's envelopes, one after another */
    size_t     ends [S_BATCH];          /* where each ends in out */
    uint32_t   count;                   /* envelopes in the batch */
} s_gen_t;

const char *
kh_bench_web_sender (int index)
{
    return s_senders [index % KH_BENCH_WEB_SENDERS];
}

/* A random number below n (xorshift64). */
static uint32_t
s_rand (s_gen_t *self, uint32_t n)
{
    self->rng ^= self->rng << 13;
    self->rng ^= self->rng >> 7;
    self->rng ^= self->rng << 17;
    return (uint32_t) ((self->rng >> 11) % n);
}

#define S_PICK(gen, list)   (list) [s_rand ((gen), sizeof (list) / sizeof (list) [0])]

/* Writes the UUIDv7 of a message published at ts into id. */
static void
s_id (s_gen_t *self, uint64_t ts, uint8_t id [KH_ID_SIZE])
{
    for (int i = 0; i < 6; i++)
        id [i] = (uint8_t) (ts >> (40 - 8 * i));
    for (int i = 6; i < KH_ID_SIZE; i++)
        id [i] = (uint8_t) s_rand (self, 256);
    id [6] = (uint8_t) (0x70 | (id [6] & 0x0F));
    id [8] = (uint8_t) (0x80 | (id [8] & 0x3F));
}

/* Writes the date of ms (UTC) as YYYY-MM-DD into out. */
static void
s_date (uint64_t ms, char out [16])
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    strftime (out, 16, "%Y-%m-%d", &tm);
}

/* Writes sentences sentences of the description vocabulary into out. */
static void
s_text (s_gen_t *self, char *out, size_t cap, int sentences)
{
    size_t used = 0;
    out [0] = 0;
    for (int i = 0; i < sentences && used + 200 < cap; i++) {
        const char *const *placed = S_PICK (self, s_placed);
        if (s_rand (self, 4) == 0)
            used += (size_t) snprintf (out + used, cap - used, "%s%s%s%s", i ? " " : "",
                                       placed [0], S_PICK (self, s_places), placed [1]);
        else
            used += (size_t) snprintf (out + used, cap - used, "%s%s", i ? " " : "",
                                       S_PICK (self, s_sentences));
    }
}

/* ----------------------------------------------------------- one message */

/* Builds a message of type from sender index from at ts, with the pairs of field
   and text in sets (NULL-ended), appending it to the batch. Returns 0, or -1
   after saying why. */
static int
s_build (s_gen_t *self, const char *type, int from, uint64_t ts, const char *const *sets,
         uint8_t id [KH_ID_SIZE])
{
    kh_builder_t *builder = kh_builder_new (type);
    kh_problem_t why = { .reason = "out of memory" };
    int rc = builder ? 0 : -1;
    for (int i = 0; rc == 0 && sets [i]; i += 2)
        rc = kh_builder_set (builder, sets [i], sets [i + 1], &why);
    s_id (self, ts, id);
    if (rc == 0)
        rc = kh_builder_pack (builder, id, s_senders [from], ts, &self->out, &why);
    kh_builder_destroy (&builder);
    if (rc) {
        fprintf (stderr, "kreishub-bench: web: cannot build a %s: %s\n", type, why.reason);
        return -1;
    }
    self->ends [self->count++] = self->out.size;
    return 0;
}

/* Appends field and value to sets (*n so far, NULL-ended) if want. */
static void
s_set (const char **sets, int *n, bool want, const char *field, const char *value)
{
    if (want) {
        sets [(*n)++] = field;
        sets [(*n)++] = value;
    }
    sets [*n] = NULL;
}

/* Builds a new item published at ts. Returns 0, or -1. */
static int
s_item (s_gen_t *self, uint64_t ts)
{
    s_item_t *item = &self->items [self->item_count];
    uint32_t dice = s_rand (self, 100);
    item->type = dice < 35 ? 0 : dice < 65 ? 1 : dice < 95 ? 2 : 3;
    item->owner = item->type == 3 || s_rand (self, 5) == 0
                ? 0 : (uint8_t) (1 + s_rand (self, KH_BENCH_WEB_SENDERS - 1));
    char title [256], text [2048], hf [4], keywords [128], lead [16], parts [64];
    char start [16], until [16];
    bool where = item->owner > 0 && s_rand (self, 4) == 0;
    snprintf (title, sizeof title, "%s%s%s%s", S_PICK (self, s_prefixes),
              S_PICK (self, s_subjects), where ? " in " : "",
              where ? s_places [item->owner] : "");
    s_text (self, text, sizeof text, 1 + (int) s_rand (self, 4));
    snprintf (hf, sizeof hf, "%u", 1 + s_rand (self, 5));
    snprintf (keywords, sizeof keywords, "%s, %s", S_PICK (self, s_keywords),
              S_PICK (self, s_keywords));
    snprintf (lead, sizeof lead, "%s", s_senders [s_rand (self, KH_BENCH_WEB_SENDERS)]);
    uint32_t a = 1 + s_rand (self, 8), b = 1 + (a + s_rand (self, 7)) % 8;
    snprintf (parts, sizeof parts, "%s, %s", s_senders [a], s_senders [b == a ? 1 + a % 8 : b]);
    s_date (ts + (uint64_t) (7 + s_rand (self, 120)) * S_DAY_MS, start);
    uint64_t until_ms = ts + (uint64_t) (90 + s_rand (self, 1000)) * S_DAY_MS;
    bool valid = s_rand (self, 10) < 3
              && (until_ms + 2 * S_DAY_MS < self->today_ms
                  || until_ms > self->today_ms + 2 * S_DAY_MS);
    s_date (until_ms, until);
    item->expired = valid && until_ms < self->today_ms;
    const char *sets [40];
    int n = 0;
    s_set (sets, &n, true, "title", title);
    s_set (sets, &n, true, "description", text);
    s_set (sets, &n, s_rand (self, 5) > 0, "hf", hf);
    s_set (sets, &n, s_rand (self, 10) < 7, "topic", S_PICK (self, s_topics));
    s_set (sets, &n, s_rand (self, 10) < 6, "keywords", keywords);
    s_set (sets, &n, s_rand (self, 2) == 0, "lead", lead);
    s_set (sets, &n, s_rand (self, 5) == 0, "participants", parts);
    s_set (sets, &n, s_rand (self, 10) < 4, "maturity", S_PICK (self, s_maturity));
    s_set (sets, &n, s_rand (self, 5) == 0, "start", start);
    s_set (sets, &n, s_rand (self, 10) < 3, "contact", "Amt für Digitalisierung");
    s_set (sets, &n, valid, "valid_until", until);
    s_set (sets, &n, item->type == 0 && s_rand (self, 3) == 0, "benefit",
           "Weniger Wege für Bürgerinnen und Bürger, kürzere Bearbeitungszeiten.");
    s_set (sets, &n, item->type == 1 && s_rand (self, 5) < 2, "cost", "kostenfrei für Mitglieder");
    s_set (sets, &n, item->type == 3 && s_rand (self, 2) == 0, "place", "Kreishaus Grevenbroich");
    self->item_count++;
    return s_build (self, s_types [item->type], item->owner, ts, sets, item->id);
}

/* Picks an item for a message to be about: recent ones more often. */
static s_item_t *
s_pick_item (s_gen_t *self)
{
    double u = (double) s_rand (self, 1u << 30) / (double) (1u << 30);
    uint32_t back = (uint32_t) ((double) self->item_count * u * u * u);
    return &self->items [self->item_count - 1 - (back < self->item_count ? back : 0)];
}

/* Builds a message about an existing item published at ts: a comment, an
   interest, a status change or a revision, as the rules allow. Returns 0, or -1. */
static int
s_about (s_gen_t *self, uint64_t ts)
{
    s_item_t *item = s_pick_item (self);
    char ref [KH_ID_STR_SIZE], text [2048], hf [4];
    kh_id_format (item->id, ref);
    uint32_t dice = s_rand (self, 100);
    int other = (int) ((item->owner + 1 + s_rand (self, KH_BENCH_WEB_SENDERS - 1))
                       % KH_BENCH_WEB_SENDERS);
    int boss = s_rand (self, 7) == 0 ? 0 : item->owner;     /* the owner, or its Kreis */
    bool closed = item->stage == S_WITHDRAWN || item->expired;
    const char *sets [12];
    int n = 0;
    uint8_t id [KH_ID_SIZE];
    if (dice < 38 && !closed) {
        s_set (sets, &n, true, "ref", ref);
        s_set (sets, &n, true, "action", s_actions [s_rand (self, 10) < 8 ? s_rand (self, 2)
                                                                          : 2 + s_rand (self, 2)]);
        s_set (sets, &n, s_rand (self, 3) == 0, "text", S_PICK (self, s_notes));
        return s_build (self, "interest", other, ts, sets, id);
    }
    if (dice < 47 && item->stage < S_FINAL) {
        item->stage = s_rand (self, 10) == 0 ? S_WITHDRAWN
                    : (uint8_t) (item->stage + 1 + s_rand (self, S_FINAL - item->stage));
        s_set (sets, &n, true, "ref", ref);
        s_set (sets, &n, true, "status", s_stages [item->stage]);
        s_set (sets, &n, s_rand (self, 2) == 0, "text", S_PICK (self, s_notes));
        return s_build (self, "status", boss, ts, sets, id);
    }
    if (dice < 55) {
        s_set (sets, &n, true, "ref", ref);
        uint32_t what = s_rand (self, 4);
        snprintf (hf, sizeof hf, "%u", 1 + s_rand (self, 5));
        s_text (self, text, sizeof text, 2);
        s_set (sets, &n, what == 0, "fields.description", text);
        s_set (sets, &n, what == 1, "fields.hf", hf);
        s_set (sets, &n, what == 2, "fields.topic", S_PICK (self, s_topics));
        s_set (sets, &n, what == 3, "fields.keywords", S_PICK (self, s_keywords));
        s_set (sets, &n, s_rand (self, 2) == 0, "text", "Angaben ergänzt.");
        return s_build (self, "revise", boss, ts, sets, id);
    }
    bool two = s_rand (self, 3) == 0;
    snprintf (text, sizeof text, "%s%s%s", S_PICK (self, s_comments), two ? " " : "",
              two ? S_PICK (self, s_comments) : "");
    s_set (sets, &n, true, "ref", ref);
    s_set (sets, &n, true, "text", text);
    return s_build (self, "comment", s_rand (self, KH_BENCH_WEB_SENDERS), ts, sets, id);
}

/* Builds the next message: an item as often as needed to begin items_wanted of
   them among total, else a message about one. Returns 0, or -1. */
static int
s_next (s_gen_t *self)
{
    uint64_t ts = S_BEGIN_MS + self->made * self->step_ms + s_rand (self, (uint32_t) self->step_ms);
    uint32_t items_left = self->items_wanted - self->item_count;
    uint32_t left = self->total - self->made;
    bool item = self->item_count == 0 || items_left == left
             || (items_left > 0 && s_rand (self, left) < items_left);
    self->made++;
    return item ? s_item (self, ts) : s_about (self, ts);
}

/* ------------------------------------------------------------ the store */

/* Appends the batch built to store. Returns 0 if every envelope was stored, -1
   after saying why not. */
static int
s_flush (s_gen_t *self, kh_store_t *store, kh_store_item_t *batch, kh_store_result_t *results)
{
    for (uint32_t i = 0; i < self->count; i++) {
        size_t begin = i ? self->ends [i - 1] : 0;
        batch [i] = (kh_store_item_t) { self->out.data + begin, self->ends [i] - begin };
    }
    int rc = kh_store_append (store, batch, self->count, results) ? -1 : 0;
    int shown = 0;
    for (uint32_t i = 0; i < self->count; i++)
        if (results [i].code != KH_OK || results [i].dup) {
            if (shown++ < S_REFUSALS_SHOWN)
                fprintf (stderr, "kreishub-bench: web: the store refused message %u: %s\n",
                         self->made - self->count + i + 1,
                         results [i].dup ? "a duplicate id" : results [i].why.reason);
            rc = -1;
        }
    self->count = 0;
    msgpack_sbuffer_clear (&self->out);
    return rc;
}

/* Writes every message into store, a batch at a time, then the search index.
   Returns 0, or -1 after saying why. */
static int
s_write (s_gen_t *self, kh_store_t *store)
{
    kh_store_item_t *batch = (kh_store_item_t *) calloc (S_BATCH, sizeof *batch);
    kh_store_result_t *results = (kh_store_result_t *) calloc (S_BATCH, sizeof *results);
    int rc = batch && results ? 0 : -1;
    while (rc == 0 && self->made < self->total && !zsys_interrupted) {
        while (rc == 0 && self->count < S_BATCH && self->made < self->total)
            rc = s_next (self);
        if (rc == 0)
            rc = s_flush (self, store, batch, results);
    }
    size_t indexed = 1;
    kh_problem_t why = { .reason = "interrupted" };
    while (rc == 0 && indexed > 0 && !zsys_interrupted)
        rc = kh_store_index (store, S_INDEX_CHUNK, &indexed, &why) ? -1 : 0;
    if (rc == 0 && (zsys_interrupted || self->made < self->total))
        rc = -1;
    if (rc && why.reason [0])
        fprintf (stderr, "kreishub-bench: web: the fill stopped: %s\n", why.reason);
    free (batch);
    free (results);
    return rc;
}

int
kh_bench_web_fill (const char *path, uint32_t items, uint32_t messages, kh_bench_fill_t *done)
{
    uint64_t now = kh_now_ms (), end = now - 30 * S_DAY_MS;
    s_gen_t gen = { .rng = 0x6b726569736875ULL, .items_wanted = items, .total = messages,
                    .today_ms = now,
                    .step_ms = end > S_BEGIN_MS ? (end - S_BEGIN_MS) / messages : 1 };
    if (gen.step_ms == 0)
        gen.step_ms = 1;
    gen.items = (s_item_t *) calloc (items, sizeof *gen.items);
    msgpack_sbuffer_init (&gen.out);
    kh_problem_t why = { .reason = "out of memory" };
    kh_store_t *store = gen.items ? kh_store_new (path, KH_SYNC_OFF, &why) : NULL;
    uint64_t t0 = kh_bench_now_ns ();
    int rc = store ? s_write (&gen, store) : -1;
    if (!store)
        fprintf (stderr, "kreishub-bench: web: cannot make the store %s: %s\n", path, why.reason);
    kh_store_destroy (&store);          /* checkpoints: the file alone holds it all */
    done->items = gen.item_count;
    done->messages = gen.made;
    done->secs = (double) (kh_bench_now_ns () - t0) / 1e9;
    msgpack_sbuffer_destroy (&gen.out);
    free (gen.items);
    return rc;
}
