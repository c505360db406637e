/*  it_demo.c - `kreishub demo` replays the cooperation of the Rhein-Kreis Neuss through
    a real hub: every message of the packaged data is stored once, in the data's order,
    from the participant whose certificate sent it, with the data's date; the digital
    twin's story holds the facts the issue names (Neuss declines on 2022-03-08, the
    Kreistag decides on 2022-03-30, seven join, Neuss joins on 2022-10-11, the funding);
    a second run stores nothing; the first refusal stops it, naming the line; and a
    hub in plain mode gets the same story.

    The log is read as the admin with `kreishub log --format json`. The facts below
    are the issue's, written here on their own, not read from the data file: a data
    file that lost one of them fails the test. */
#include <sys/stat.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_harness.h"
#include "kh_json.h"

#define S_OUT_MAX   (512 * 1024)
#define S_RECS_MAX  200
#define S_TWIN      "Digitaler Zwilling"
#define S_NEUSS     "05162024"

/* One stored message, as the log shows it: what the checks look at. */
typedef struct {
    char id [KH_ID_STR_SIZE];
    char type [16];
    char from [KH_AGS_MAX + 1];
    char date [11];                     /* the day of ts, YYYY-MM-DD (UTC) */
    uint64_t ts;
    char ref [KH_ID_STR_SIZE];          /* "" for an item */
    char action [16], status [16];      /* interest, status */
    char text [4096];                   /* title, or text; a revise's description */
    uint64_t hf;
    bool valid_until;                   /* the body has a valid_until */
} s_rec_t;

typedef struct {
    kh_hub_t hub;
    char     out [S_OUT_MAX];
    char     data [600];                /* the packaged data, in the source tree */
    s_rec_t  recs [S_RECS_MAX];         /* the log */
    int      count;
    s_rec_t  lines [S_RECS_MAX];        /* the data file's lines, as the hub should have them */
    int      line_count;
} s_test_t;

/* ------------------------------------------------------------ reading JSON */

/* Copies the str under key of map (NULL: none) into out, "" if there is none. */
static void
s_str (const msgpack_object *map, const char *key, char *out, size_t cap)
{
    const msgpack_object *value = map ? kh_json_lookup (map, key) : NULL;
    out [0] = 0;
    if (value && value->type == MSGPACK_OBJECT_STR)
        snprintf (out, cap, "%.*s", (int) value->via.str.size, value->via.str.ptr);
}

/* Reads the body of a record (or a data line) into rec. */
static void
s_body (const msgpack_object *body, s_rec_t *rec)
{
    const msgpack_object *fields = kh_json_lookup (body, "fields");
    const msgpack_object *hf = kh_json_lookup (body, "hf");
    s_str (body, "ref", rec->ref, sizeof rec->ref);
    s_str (body, "action", rec->action, sizeof rec->action);
    s_str (body, "status", rec->status, sizeof rec->status);
    s_str (body, "title", rec->text, sizeof rec->text);
    if (!*rec->text)
        s_str (body, "text", rec->text, sizeof rec->text);
    if (fields) {
        size_t used = strlen (rec->text);
        s_str (fields, "description", rec->text + used, sizeof rec->text - used);
    }
    rec->hf = hf && hf->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? hf->via.u64 : 0;
    rec->valid_until = kh_json_lookup (body, "valid_until") != NULL;
}

/* Reads one JSON object (a log record, or a data line whose sender is under "as")
   into rec. Returns 0, or -1 if it is not one. */
static int
s_read (const char *json, size_t len, s_rec_t *rec)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    kh_problem_t why;
    char ts [40];
    int rc = kh_json_to_msgpack (json, len, &buf, &why) == 0
          && msgpack_unpack_next (&u, buf.data, buf.size, NULL) == MSGPACK_UNPACK_SUCCESS
          && u.data.type == MSGPACK_OBJECT_MAP ? 0 : -1;
    memset (rec, 0, sizeof *rec);
    if (rc == 0) {
        s_str (&u.data, "id", rec->id, sizeof rec->id);
        s_str (&u.data, "type", rec->type, sizeof rec->type);
        s_str (&u.data, "from", rec->from, sizeof rec->from);
        if (!*rec->from)
            s_str (&u.data, "as", rec->from, sizeof rec->from);
        s_str (&u.data, "ts", ts, sizeof ts);
        snprintf (rec->date, sizeof rec->date, "%.10s", ts);
        const msgpack_object *body = kh_json_lookup (&u.data, "body");
        rc = kh_time_parse (ts, &rec->ts) || !body ? -1 : 0;
        if (body)
            s_body (body, rec);
    }
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Reads the lines of text (one JSON object each; # lines and blank ones skipped)
   into recs. Returns how many, or -1 if one is not a record. */
static int
s_read_all (const char *text, s_rec_t *recs, int max)
{
    int count = 0;
    for (const char *line = text; *line && count < max; ) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        if (len && *line != '#' && s_read (line, len, &recs [count++]))
            return -1;
        line += len + (end ? 1 : 0);
    }
    return count;
}

/* Reads the hub's log as the admin into t->recs. Returns the exit status of log. */
static int
s_log (s_test_t *t)
{
    int rc = kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out,
                            "kreishub log --format json");
    t->count = rc == 0 ? s_read_all (t->out, t->recs, S_RECS_MAX) : -1;
    return rc;
}

/* ------------------------------------------------------------ finding facts */

/* The first record from index from on of type (NULL: any) whose ref is ref (NULL:
   any), sender is from_ags (NULL: any) and text holds words (NULL: any). Returns
   its index, or -1. */
static int
s_find (const s_test_t *t, int from, const char *type, const char *ref,
        const char *from_ags, const char *words)
{
    for (int i = from < 0 ? 0 : from; i < t->count; i++) {
        const s_rec_t *rec = &t->recs [i];
        if ((!type || streq (rec->type, type)) && (!ref || streq (rec->ref, ref))
        &&  (!from_ags || streq (rec->from, from_ags))
        &&  (!words || strstr (rec->text, words)))
            return i;
    }
    return -1;
}

/* The date of record i, or "none". */
static const char *
s_date (const s_test_t *t, int i)
{
    return i >= 0 ? t->recs [i].date : "none";
}

/* The index of the first message of type (status or interest) about the item ref
   from sender (NULL: any) whose status or action is what, or -1. */
static int
s_about (const s_test_t *t, const char *type, const char *ref, const char *sender,
         const char *what)
{
    for (int i = s_find (t, 0, type, ref, sender, NULL); i >= 0;
         i = s_find (t, i + 1, type, ref, sender, NULL))
        if (streq (streq (type, "status") ? t->recs [i].status : t->recs [i].action, what))
            return i;
    return -1;
}

/* The index of the status stat of the item ref, or -1. */
static int
s_status (const s_test_t *t, const char *ref, const char *stat)
{
    return s_about (t, "status", ref, NULL, stat);
}

/* The index of the interest action of sender in the item ref, or -1. */
static int
s_interest (const s_test_t *t, const char *ref, const char *sender, const char *action)
{
    return s_about (t, "interest", ref, sender, action);
}

/* How many interests of action the item ref has. */
static int
s_interests (const s_test_t *t, const char *ref, const char *action)
{
    int n = 0;
    for (int i = 0; i < t->count; i++)
        n += streq (t->recs [i].type, "interest") && streq (t->recs [i].ref, ref)
             && streq (t->recs [i].action, action);
    return n;
}

/* ------------------------------------------------------------ the tests */

/* The log holds the data file's messages, each once, in its order, from its sender,
   with its id, type and ts. */
static void
test_log_is_the_data (s_test_t *t)
{
    bool same = t->count == t->line_count;
    int bad = -1;
    for (int i = 0; same && i < t->count; i++) {
        const s_rec_t *a = &t->recs [i], *b = &t->lines [i];
        same = streq (a->id, b->id) && streq (a->type, b->type) && streq (a->from, b->from)
               && a->ts == b->ts && streq (a->ref, b->ref);
        bad = same ? -1 : i;
    }
    KH_CHECK ("each line of the data is stored once, in order, from its sender, with its "
              "id, type and date", same, "%d records, %d lines; first differing: %d (%s %s "
              "from %s)", t->count, t->line_count, bad, bad >= 0 ? t->recs [bad].type : "",
              bad >= 0 ? t->recs [bad].id : "", bad >= 0 ? t->recs [bad].from : "");
    bool none_expires = true;
    for (int i = 0; i < t->count; i++)
        none_expires = none_expires && !t->recs [i].valid_until;
    KH_CHECK ("no replayed item has a valid_until (none is expired)", none_expires,
              "some has");
}

/* The digital twin from the ideas workshop through the Kreistag's decision. */
static void
test_twin_to_decision (s_test_t *t, const char *twin)
{
    int discussion = s_status (t, twin, "discussion");
    KH_CHECK ("the Kreis presents it to the mayors' conference on 2021-11-03 (discussion)",
              discussion >= 0 && streq (s_date (t, discussion), "2021-11-03")
              && streq (t->recs [discussion].from, KH_HUB_KREIS), "%s", s_date (t, discussion));
    int sessions = 0;
    for (int i = s_find (t, 0, "comment", twin, NULL, NULL); i >= 0;
         i = s_find (t, i + 1, "comment", twin, NULL, NULL))
        sessions += strcmp (t->recs [i].date, "2021-12-01") >= 0
                    && strcmp (t->recs [i].date, "2022-02-28") <= 0 && i > discussion;
    KH_CHECK ("the IT heads' working group discusses it in three sessions, Dec 2021 - Feb "
              "2022", sessions == 3, "%d comments then", sessions);
    int decline = s_interest (t, twin, S_NEUSS, "decline");
    KH_CHECK ("Neuss declines on 2022-03-08, with its own certificate",
              decline >= 0 && streq (s_date (t, decline), "2022-03-08"), "%s",
              s_date (t, decline));
    int decided = s_status (t, twin, "decided");
    KH_CHECK ("the Kreistag's decision is status decided by the Kreis, on 2022-03-30, "
              "after Neuss' decline", decided > decline && decline >= 0
              && streq (s_date (t, decided), "2022-03-30")
              && streq (t->recs [decided].from, KH_HUB_KREIS), "%s", s_date (t, decided));
}

/* The seven join, then Neuss; the funding and the steering committee. */
static void
test_twin_joins (s_test_t *t, const char *twin)
{
    static const char *const seven [] = { "05162004", "05162008", "05162012", "05162016",
                                          "05162020", "05162022", "05162028" };
    int decided = s_status (t, twin, "decided");
    for (size_t i = 0; i < 7; i++) {
        int join = s_interest (t, twin, seven [i], "join");
        KH_CHECK ("each of the seven joins on 2022-03-30 after the decision, as itself",
                  join > decided && decided >= 0 && streq (s_date (t, join), "2022-03-30"),
                  "%s: %s", seven [i], s_date (t, join));
    }
    int neuss = s_interest (t, twin, S_NEUSS, "join");
    KH_CHECK ("Neuss joins after all on 2022-10-11", neuss >= 0
              && streq (s_date (t, neuss), "2022-10-11"), "%s", s_date (t, neuss));
    KH_CHECK ("the twin has 7 + 1 joins and one decline, nothing else",
              s_interests (t, twin, "join") == 8 && s_interests (t, twin, "decline") == 1
              && s_interests (t, twin, "interested") == 0 && s_interests (t, twin, "leave")
              == 0, "%d joins, %d declines", s_interests (t, twin, "join"),
              s_interests (t, twin, "decline"));
    int funding = s_find (t, neuss, NULL, twin, KH_HUB_KREIS, "420.000");
    KH_CHECK ("the Kreis tells of 420.000 EUR of NRW funding in late 2022",
              funding >= 0 && strncmp (s_date (t, funding), "2022-", 5) == 0
              && strcmp (s_date (t, funding), "2022-09") > 0
              && strstr (t->recs [funding].text, "NRW"), "%s", s_date (t, funding));
    KH_CHECK ("and a steering committee (Lenkungskreis)",
              s_find (t, decided, NULL, twin, KH_HUB_KREIS, "Lenkungskreis") >= 0, "none");
}

/* The digital twin, its whole story. */
static void
test_twin (s_test_t *t)
{
    int item = s_find (t, 0, "idea", NULL, KH_HUB_KREIS, S_TWIN);
    KH_CHECK ("the digital twin is an idea of the Kreis from 2021, Handlungsfeld 2",
              item >= 0 && strncmp (s_date (t, item), "2021-", 5) == 0
              && t->recs [item].hf == 2, "%s", s_date (t, item));
    if (item < 0)
        return;
    const char *twin = t->recs [item].id;
    test_twin_to_decision (t, twin);
    test_twin_joins (t, twin);
}

/* The items around it: the Kreis' offers and courses, the ideas, the request. */
static void
test_others (s_test_t *t)
{
    static const struct { const char *type, *from, *words; } items [] = {
        { "offer", KH_HUB_KREIS, "Fortbildungsprogramm" }, { "offer", KH_HUB_KREIS, "LoRaWAN" },
        { "offer", KH_HUB_KREIS, "Heimfinder" }, { "idea", KH_HUB_KREIS, "Parkausweis" },
        { "idea", KH_HUB_KREIS, "Open-Data-Portal" }, { "idea", KH_HUB_KREIS, "Baulasten" },
        { "request", "05162020", "Datenschutzbeauftragt" },
        { "idea", KH_HUB_KREIS, "Fahrzeug-Ummeldung" } };
    for (size_t i = 0; i < sizeof items / sizeof items [0]; i++)
        KH_CHECK ("the item is there, from its owner", s_find (t, 0, items [i].type, NULL,
                  items [i].from, items [i].words) >= 0, "%s %s", items [i].type,
                  items [i].words);
    int training = s_find (t, 0, "offer", NULL, KH_HUB_KREIS, "Fortbildungsprogramm");
    int courses = 0;
    for (int i = s_find (t, training, "announcement", NULL, KH_HUB_KREIS, "Kurs");
         i >= 0; i = s_find (t, i + 1, "announcement", NULL, KH_HUB_KREIS, "Kurs"))
        courses++;
    KH_CHECK ("the Kreis announces courses of the training programme over the year",
              courses >= 3, "%d", courses);
    int dsb = s_find (t, 0, "request", NULL, "05162020", NULL);
    const char *ref = dsb >= 0 ? t->recs [dsb].id : "-";
    KH_CHECK ("municipalities answer Korschenbroich's request: interested",
              s_interests (t, ref, "interested") >= 2, "%d", s_interests (t, ref, "interested"));
    int kfz = s_find (t, 0, "idea", NULL, NULL, "Fahrzeug-Ummeldung");
    ref = kfz >= 0 ? t->recs [kfz].id : "-";
    KH_CHECK ("vehicle re-registration is piloted in Jüchen and Rommerskirchen",
              s_status (t, ref, "pilot") >= 0 && s_interest (t, ref, "05162012", "join") >= 0
              && s_interest (t, ref, "05162028", "join") >= 0, "pilot %d",
              s_status (t, ref, "pilot"));
}

/* Runs the demo with the hub's certificates; returns its exit status, output in t->out. */
static int
s_demo (s_test_t *t, const char *more)
{
    return kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out,
                          "kreishub demo --certs '%s' %s 2>&1", t->hub.certs, more);
}

/* The first run stores it all, a second nothing. */
static void
test_runs (s_test_t *t)
{
    char expect [96];
    int rc = s_demo (t, "--check");
    snprintf (expect, sizeof expect, "demo: %d messages valid (", t->line_count);
    KH_CHECK ("demo --check reads the packaged data (found from the build's bin) and "
              "checks every message", rc == 0 && strncmp (t->out, expect, strlen (expect))
              == 0 && strstr (t->out, "/share/kreishub/demo/rhein-kreis-neuss.jsonl)"),
              "rc %d '%s'", rc, t->out);
    rc = s_log (t);
    KH_CHECK ("and publishes nothing", rc == 0 && t->count == 0, "rc %d, %d records", rc,
              t->count);
    rc = kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out, "kreishub demo extra 2>&1");
    KH_CHECK ("an argument is bad usage", rc == 1 && strstr (t->out, "unexpected argument "
              "'extra'"), "rc %d '%s'", rc, t->out);
    rc = s_demo (t, "");
    snprintf (expect, sizeof expect, "demo: %d messages stored, 0 already there\n",
              t->line_count);
    KH_CHECK ("kreishub demo stores every message of the packaged data", rc == 0
              && streq (t->out, expect), "rc %d '%s'", rc, t->out);
    rc = s_log (t);
    KH_CHECK ("the admin reads the log", rc == 0 && t->count > 0, "rc %d", rc);
    test_log_is_the_data (t);
    test_twin (t);
    test_others (t);

    rc = s_demo (t, "");
    snprintf (expect, sizeof expect, "demo: 0 messages stored, %d already there\n",
              t->line_count);
    KH_CHECK ("a second run stores nothing: each is acknowledged as a duplicate", rc == 0
              && streq (t->out, expect), "rc %d '%s'", rc, t->out);
    int before = t->count;
    rc = s_log (t);
    KH_CHECK ("and the log is as it was", rc == 0 && t->count == before, "%d records, "
              "were %d", t->count, before);
}

/* Writes text into the file t->hub.dir/name; returns its path (a static buffer). */
static const char *
s_file (s_test_t *t, const char *name, const char *text)
{
    static char path [400];
    snprintf (path, sizeof path, "%s/%s", t->hub.dir, name);
    FILE *file = fopen (path, "w");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
    return path;
}

/* A refusal stops the replay at its line; what came before stays stored. */
static void
test_refusal (s_test_t *t)
{
    const char *path = s_file (t, "refused.jsonl",
        "# an idea of Jüchen, a status by Dormagen, a comment\n"
        "{\"as\":\"05162012\",\"type\":\"idea\",\"id\":\"0185c8a1-1c00-7000-8000-000000000001\","
        "\"ts\":\"2023-01-16\",\"body\":{\"title\":\"Gemeinsame Bauhof-Software\"}}\n"
        "{\"as\":\"05162004\",\"type\":\"status\",\"id\":\"0185c8a1-1c00-7000-8000-000000000002\","
        "\"ts\":\"2023-01-17\",\"body\":{\"ref\":\"0185c8a1-1c00-7000-8000-000000000001\","
        "\"status\":\"decided\"}}\n"
        "{\"as\":\"05162012\",\"type\":\"comment\",\"id\":\"0185c8a1-1c00-7000-8000-000000000003\","
        "\"ts\":\"2023-01-18\",\"body\":{\"ref\":\"0185c8a1-1c00-7000-8000-000000000001\","
        "\"text\":\"Nie gesendet\"}}\n");
    char more [480];
    snprintf (more, sizeof more, "--data '%s'", path);
    int before = t->count;
    int rc = s_demo (t, more);
    KH_CHECK ("a status by another than the owner stops the demo: exit 2, naming the line "
              "and the code", rc == 2 && strstr (t->out, "refused.jsonl:3: status")
              && strstr (t->out, "NOT_OWNER") && !strstr (t->out, "messages stored"), "rc %d '%s'",
              rc, t->out);
    rc = s_log (t);
    KH_CHECK ("what came before it is stored, nothing after it",
              rc == 0 && t->count == before + 1
              && s_find (t, before, "idea", NULL, "05162012", "Bauhof") == before,
              "%d records, were %d", t->count, before);

    path = s_file (t, "bad.jsonl", "{\"as\":\"05162012\",\"type\":\"idea\"}\n");
    snprintf (more, sizeof more, "--data '%s'", path);
    rc = s_demo (t, more);
    KH_CHECK ("a line without its pieces is bad data: exit 1, naming the line", rc == 1
              && strstr (t->out, "bad.jsonl:1: "), "rc %d '%s'", rc, t->out);
    rc = kh_hub_run_as (&t->hub, "admin", t->out, sizeof t->out,
                        "kreishub demo --certs /nonexistent 2>&1");
    KH_CHECK ("without certificates it says where to give them", rc == 1
              && strstr (t->out, "--certs DIR"), "rc %d '%s'", rc, t->out);
}

/* A hub in plain mode gets the same story, each message from its sender. */
static void
test_plain (s_test_t *t)
{
    kh_hub_t secure = t->hub;
    memset (&t->hub, 0, sizeof t->hub);
    if (kh_hub_start_plain (&t->hub, NULL, NULL)) {
        KH_CHECK ("a plain hub starts", false, "no");
        t->hub = secure;
        return;
    }
    char expect [96];
    snprintf (expect, sizeof expect, "demo: %d messages stored, 0 already there\n",
              t->line_count);
    int rc = kh_hub_run (&t->hub, t->out, sizeof t->out, "kreishub demo 2>/dev/null");
    KH_CHECK ("in plain mode too, from= naming each sender", rc == 0
              && streq (t->out, expect), "rc %d '%s'", rc, t->out);
    rc = s_log (t);
    test_log_is_the_data (t);
    KH_CHECK ("the plain hub stops cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see %s", t->hub.dir);
    t->hub = secure;
}

/* Counts the lines of out that hold every one of the NULL-terminated words. */
static int
s_count_lines (const char *out, const char *const words [])
{
    int count = 0;
    for (const char *line = out; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        char buf [1024];
        snprintf (buf, sizeof buf, "%.*s", (int) (len < sizeof buf ? len : sizeof buf - 1),
                  line);
        bool all = true;
        for (size_t i = 0; words [i] && all; i++)
            all = strstr (buf, words [i]) != NULL;
        count += all;
        line = end ? end + 1 : NULL;
    }
    return count;
}

/* What a municipality sees with `kreishub items --open` and `kreishub show`: the
   story as the issue tells it, from the derived state (not from the log). */
static void
test_catalogue (s_test_t *t)
{
    int rc = kh_hub_run_as (&t->hub, "05162022", t->out, sizeof t->out,
                            "kreishub items --open 2>&1");
    const char *twin [] = { S_TWIN, "decided", " 8/0 ", NULL };
    const char *pilot [] = { "Fahrzeug-Ummeldung", "pilot", " 2/0 ", NULL };
    const char *request [] = { "05162020 Korschenbroich", "Gesucht: Partner", NULL };
    const char *courses [] = { "announcement", "Kurs:", "proposed", NULL };
    const char *header [] = { "SEQ", "TITLE", NULL };
    const char *any [] = { "", NULL };
    KH_CHECK ("items --open: the twin is decided, with eight bodies joined",
              rc == 0 && s_count_lines (t->out, twin) == 1, "rc %d '%s'", rc, t->out);
    KH_CHECK ("items --open: the vehicle pilot, Jüchen and Rommerskirchen joined",
              s_count_lines (t->out, pilot) == 1, "'%s'", t->out);
    KH_CHECK ("items --open: Korschenbroich's request, with its name",
              s_count_lines (t->out, request) == 1, "'%s'", t->out);
    KH_CHECK ("items --open: the courses of the training programme are announcements",
              s_count_lines (t->out, courses) >= 3, "'%s'", t->out);
    KH_CHECK ("items --open: every item of the demo is open (none expired or finished): 14",
              s_count_lines (t->out, header) == 1 && s_count_lines (t->out, any) == 15,
              "'%s'", t->out);
    const char *line = strstr (t->out, S_TWIN);
    while (line && line > t->out && line [-1] != '\n')
        line--;
    long seq = line ? strtol (line, NULL, 10) : 0;
    char cmd [64];
    snprintf (cmd, sizeof cmd, "kreishub show %ld 2>&1", seq);
    rc = kh_hub_run_as (&t->hub, "05162022", t->out, sizeof t->out, "%s", cmd);
    KH_CHECK ("show: the twin was decided on 30.03.2022", rc == 0 && seq > 0
              && strstr (t->out, "decided since 30.03.2022"), "rc %d seq %ld '%s'", rc, seq,
              t->out);
    const char *neuss [] = { "05162024 Neuss", "joined", "11.10.2022", NULL };
    const char *seven [] = { "joined", "30.03.2022", NULL };
    KH_CHECK ("show: Neuss joined on 11.10.2022, after all", s_count_lines (t->out, neuss)
              == 1, "'%s'", t->out);
    KH_CHECK ("show: the seven joined on 30.03.2022 (their lines and their timeline)",
              s_count_lines (t->out, seven) == 14, "%d lines '%s'",
              s_count_lines (t->out, seven), t->out);
    const char *steps [] = { "Rhein-Kreis Neuss  published the idea \"" S_TWIN,
                             "03.11.2021", "status: discussion",
                             "08.03.2022", "Neuss              declined",
                             "30.03.2022", "status: decided",
                             "11.10.2022", "Neuss              joined",
                             "420.000 EUR" };
    const char *at = t->out;
    for (size_t i = 0; i < sizeof steps / sizeof steps [0] && at; i++) {
        const char *found = strstr (at, steps [i]);
        KH_CHECK ("show's timeline tells the story in its order", found, "'%s' not after "
                  "the step before", steps [i]);
        at = found;
    }
}

int
main (void)
{
    const char *leaks [] = { "KREISHUB_CONFIG", "KREISHUB_FROM", "KREISHUB_PLAIN",
                             "KREISHUB_CERT", "KREISHUB_SERVER_CERT", "KREISHUB_CERTS",
                             "KREISHUB_DIR" };
    for (size_t i = 0; i < sizeof leaks / sizeof leaks [0]; i++)
        unsetenv (leaks [i]);
    s_test_t *t = (s_test_t *) calloc (1, sizeof *t);
    const char *source = getenv ("KH_SOURCE_DIR");
    char *text = (char *) malloc (S_OUT_MAX);
    if (t && source && text) {
        snprintf (t->data, sizeof t->data, "%s/packaging/demo/rhein-kreis-neuss.jsonl", source);
        t->line_count = s_read_all (kh_hub_slurp (t->data, text, S_OUT_MAX), t->lines,
                                    S_RECS_MAX);
    }
    free (text);
    if (!t || t->line_count <= 0 || kh_hub_start (&t->hub, NULL, NULL)) {
        printf ("FAIL the data %s is read (KH_SOURCE_DIR) and the hub starts\n",
                t ? t->data : "?");
        free (t);
        return 1;
    }
    test_runs (t);
    test_catalogue (t);
    test_refusal (t);
    test_plain (t);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see logs in %s", t->hub.dir);
    free (t);
    return kh_check_done ("it_demo");
}
