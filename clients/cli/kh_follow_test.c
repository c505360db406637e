/*  kh_follow_test.c - following by Handlungsfeld, topic, keyword and participant:
    items judged by their fields, messages about an item by the item as it stands
    after them, unknown items asked for once. */
#include <stdarg.h>
#include <string.h>
#include "kh_check.h"
#include <czmq.h>
#include "kh_follow.h"

#define S_KREIS     "05162"
#define S_MEERBUSCH "05162022"
#define S_JUECHEN   "05162012"

/* A message built here: its bytes, as a record. */
typedef struct {
    uint8_t     id [KH_ID_SIZE];
    uint8_t     bytes [4096];
    kh_record_t rec;
} s_msg_t;

/* Builds a message of type from `from` with the fields given as name, value pairs
   (NULL ends them). */
static s_msg_t
s_build (const char *type, const char *from, ...)
{
    static uint64_t seq = 0;
    s_msg_t m;
    memset (&m, 0, sizeof m);
    kh_id_new (m.id);
    kh_builder_t *b = kh_builder_new (type);
    va_list ap;
    va_start (ap, from);
    const char *name;
    while ((name = va_arg (ap, const char *))) {
        const char *value = va_arg (ap, const char *);
        kh_builder_set (b, name, value, NULL);
    }
    va_end (ap);
    kh_problem_t why = { 0 };
    if (kh_builder_encode (b, m.id, from, kh_now_ms (), &why) == 0) {
        size_t size;
        const void *data = kh_builder_data (b, &size);
        if (size <= sizeof m.bytes) {
            memcpy (m.bytes, data, size);
            m.rec.msg_size = size;
        }
    }
    else
        printf ("  cannot build %s: %s\n", type, why.reason);
    kh_builder_destroy (&b);
    m.rec.info.seq = ++seq;
    return m;
}

/* Judges m with the follower (its msg pointing into m). */
static bool
s_wanted (kh_follow_t *follow, s_msg_t *m, int *rc)
{
    bool wanted = false;
    m->rec.msg = m->bytes;
    int code = kh_follow_judge (follow, &m->rec, &wanted);
    if (rc)
        *rc = code;
    return wanted;
}

/* The hub, as the lookup sees it: one item it knows, a count of questions, and an
   answer to give for the rest. */
typedef struct {
    uint8_t id [KH_ID_SIZE];
    kh_follow_item_t item;
    int     asked;
    int     otherwise;                  /* code for an unknown id */
} s_hub_t;

static int
s_lookup (void *arg, const uint8_t id [KH_ID_SIZE], kh_follow_item_t *item)
{
    s_hub_t *hub = (s_hub_t *) arg;
    hub->asked++;
    if (memcmp (id, hub->id, KH_ID_SIZE) != 0)
        return hub->otherwise;
    *item = hub->item;
    return 0;
}

static void
test_hf_and_revise (void)
{
    kh_follow_spec_t spec = { .hf = 2 };
    s_hub_t hub = { .otherwise = KH_ENOITEM };
    kh_follow_t *follow = kh_follow_new (&spec, s_lookup, &hub);
    s_msg_t twin = s_build ("idea", S_KREIS, "title", "Digitaler Zwilling", "hf", "2", NULL);
    s_msg_t lora = s_build ("offer", S_KREIS, "title", "LoRaWAN", "hf", "3", NULL);
    KH_CHECK ("an item of the Handlungsfeld is wanted", s_wanted (follow, &twin, NULL), "no");
    KH_CHECK ("an item of another is not", !s_wanted (follow, &lora, NULL), "wanted");
    char ref [KH_ID_STR_SIZE];
    kh_id_format (twin.id, ref);
    s_msg_t comment = s_build ("comment", S_JUECHEN, "ref", ref, "text", "Gut so", NULL);
    KH_CHECK ("a comment on it is wanted, judged by the item", s_wanted (follow, &comment,
              NULL), "no");
    kh_id_format (lora.id, ref);
    s_msg_t other = s_build ("comment", S_JUECHEN, "ref", ref, "text", "Auch gut", NULL);
    KH_CHECK ("a comment on the other is not", !s_wanted (follow, &other, NULL), "wanted");
    s_msg_t revise = s_build ("revise", S_KREIS, "ref", ref, "fields.hf", "2", NULL);
    KH_CHECK ("a revise that moves the other into the Handlungsfeld is wanted",
              s_wanted (follow, &revise, NULL), "no");
    s_msg_t later = s_build ("comment", S_JUECHEN, "ref", ref, "text", "Nun ja", NULL);
    KH_CHECK ("and so is what follows on it", s_wanted (follow, &later, NULL), "no");
    KH_CHECK ("items seen are not asked for", hub.asked == 0 && kh_follow_known (follow) == 2,
              "asked %d, known %zu", hub.asked, kh_follow_known (follow));
    kh_follow_destroy (&follow);
    KH_CHECK ("destroy nulls", follow == NULL, "not null");
}

static void
test_participant (void)
{
    kh_follow_spec_t spec = { .participant = S_MEERBUSCH };
    kh_follow_t *follow = kh_follow_new (&spec, NULL, NULL);
    s_msg_t named = s_build ("idea", S_KREIS, "title", "Open Data", "participants",
                             "05162004," S_MEERBUSCH, NULL);
    s_msg_t lead = s_build ("request", S_JUECHEN, "title", "DSB", "lead", S_MEERBUSCH, NULL);
    s_msg_t apart = s_build ("offer", S_KREIS, "title", "Apps", NULL);
    s_msg_t own = s_build ("idea", S_MEERBUSCH, "title", "Eigenes", NULL);
    KH_CHECK ("an item naming it as participant is wanted", s_wanted (follow, &named, NULL),
              "no");
    KH_CHECK ("one naming it as lead too", s_wanted (follow, &lead, NULL), "no");
    KH_CHECK ("its own item too", s_wanted (follow, &own, NULL), "no");
    KH_CHECK ("one that does not concern it is not", !s_wanted (follow, &apart, NULL),
              "wanted");
    char ref [KH_ID_STR_SIZE];
    kh_id_format (apart.id, ref);
    s_msg_t before = s_build ("comment", S_KREIS, "ref", ref, "text", "Neu", NULL);
    KH_CHECK ("a comment on it is not wanted", !s_wanted (follow, &before, NULL), "wanted");
    s_msg_t join = s_build ("interest", S_MEERBUSCH, "ref", ref, "action", "join", NULL);
    KH_CHECK ("its joining is wanted", s_wanted (follow, &join, NULL), "no");
    s_msg_t after = s_build ("comment", S_KREIS, "ref", ref, "text", "Willkommen", NULL);
    KH_CHECK ("and, once it takes part, the comments on the item", s_wanted (follow, &after,
              NULL), "no");
    s_msg_t leave = s_build ("interest", S_MEERBUSCH, "ref", ref, "action", "leave", NULL);
    KH_CHECK ("its leaving is wanted (it sent it)", s_wanted (follow, &leave, NULL), "no");
    s_msg_t gone = s_build ("comment", S_KREIS, "ref", ref, "text", "Schade", NULL);
    KH_CHECK ("what follows after it left is not", !s_wanted (follow, &gone, NULL), "wanted");
    kh_id_format (named.id, ref);
    s_msg_t revise = s_build ("revise", S_KREIS, "ref", ref, "fields.participants", "05162004",
                              NULL);
    KH_CHECK ("a revise that drops it from the participants is not wanted either",
              !s_wanted (follow, &revise, NULL), "wanted");
    kh_follow_destroy (&follow);
}

static void
test_topic_keyword (void)
{
    kh_follow_spec_t spec = { .hf = 0 };
    snprintf (spec.topic, sizeof spec.topic, "querschnitt");
    snprintf (spec.keyword, sizeof spec.keyword, "open data");
    kh_follow_t *follow = kh_follow_new (&spec, NULL, NULL);
    s_msg_t both = s_build ("idea", S_KREIS, "title", "Portal", "topic", "Querschnitt",
                            "keywords", "Geodaten, Open Data", NULL);
    s_msg_t topic = s_build ("idea", S_KREIS, "title", "Portal", "topic", "Querschnitt",
                             "keywords", "Geodaten", NULL);
    s_msg_t none = s_build ("idea", S_KREIS, "title", "Portal", NULL);
    KH_CHECK ("topic and keyword match, ASCII case ignored", s_wanted (follow, &both, NULL),
              "no");
    KH_CHECK ("every attribute given must match", !s_wanted (follow, &topic, NULL), "wanted");
    KH_CHECK ("an item without them is not wanted", !s_wanted (follow, &none, NULL), "wanted");
    KH_CHECK ("a spec with an attribute is active, an empty one not",
              kh_follow_spec_active (&spec) && !kh_follow_spec_active (&(kh_follow_spec_t)
              { .hf = 0 }), "wrong");
    kh_follow_destroy (&follow);
}

static void
test_lookup (void)
{
    kh_follow_spec_t spec = { .hf = 4 };
    s_hub_t hub = { .otherwise = KH_EUNREACHABLE };
    kh_id_new (hub.id);
    hub.item.hf = 4;
    snprintf (hub.item.owner, sizeof hub.item.owner, "%s", S_JUECHEN);
    kh_follow_t *follow = kh_follow_new (&spec, s_lookup, &hub);
    char ref [KH_ID_STR_SIZE];
    kh_id_format (hub.id, ref);
    s_msg_t first = s_build ("comment", S_KREIS, "ref", ref, "text", "Eins", NULL);
    s_msg_t second = s_build ("comment", S_KREIS, "ref", ref, "text", "Zwei", NULL);
    int rc = -1;
    KH_CHECK ("a message about an item not seen asks the hub for it", s_wanted (follow,
              &first, &rc) && rc == 0 && hub.asked == 1, "rc %d asked %d", rc, hub.asked);
    KH_CHECK ("once", s_wanted (follow, &second, &rc) && hub.asked == 1, "asked %d",
              hub.asked);
    uint8_t other [KH_ID_SIZE];
    kh_id_new (other);
    kh_id_format (other, ref);
    s_msg_t lost = s_build ("comment", S_KREIS, "ref", ref, "text", "Drei", NULL);
    bool wanted = s_wanted (follow, &lost, &rc);
    KH_CHECK ("a hub that cannot be asked gives its code, and nothing is wanted",
              !wanted && rc == KH_EUNREACHABLE, "rc %d wanted %d", rc, wanted);
    hub.otherwise = KH_ENOITEM;
    wanted = s_wanted (follow, &lost, &rc);
    KH_CHECK ("an item the hub does not hold is no error, and not wanted", !wanted && rc == 0,
              "rc %d", rc);
    s_msg_t junk = first;
    junk.bytes [0] ^= 0xff;
    KH_CHECK ("bytes that are no envelope are not wanted", !s_wanted (follow, &junk, &rc)
              && rc == 0, "rc %d", rc);
    kh_follow_destroy (&follow);
}

static void
test_from_catalogue (void)
{
    /* the fields map of an item as the catalogue gives it: a body */
    static const uint8_t map [] = { 0x83, 0xa2, 'h', 'f', 0x03, 0xa5, 't', 'o', 'p', 'i', 'c',
                                    0xa7, 'B', 'i', 'l', 'd', 'u', 'n', 'g', 0xa4, 'l', 'e',
                                    'a', 'd', 0xa8, '0', '5', '1', '6', '2', '0', '1', '2' };
    kh_participant_t parts [2] = { { .ags = S_MEERBUSCH, .state = "joined" },
                                   { .ags = "05162004", .state = "declined" } };
    kh_item_t item = { .type = "offer", .owner = S_KREIS, .fields = map,
                       .fields_size = sizeof map, .participant_count = 2,
                       .participants = parts };
    kh_follow_item_t got;
    int rc = kh_follow_item_from (&item, &got);
    KH_CHECK ("an item of the catalogue gives what the follower needs", rc == 0
              && got.hf == 3 && streq (got.topic, "Bildung") && got.named_count == 1
              && streq (got.named [0], S_JUECHEN) && got.answer_count == 2
              && got.taking_part [0] && !got.taking_part [1] && streq (got.owner, S_KREIS),
              "rc %d hf %u topic %s", rc, got.hf, got.topic);
    item.fields_size = 3;
    KH_CHECK ("cut fields are refused", kh_follow_item_from (&item, &got) == -1, "accepted");
}

int
main (void)
{
    test_hf_and_revise ();
    test_participant ();
    test_topic_keyword ();
    test_lookup ();
    test_from_catalogue ();
    return kh_check_done ("follow_test");
}
