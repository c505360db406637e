/*  it_coop.c - the cooperation workflow through the real kreishub program against a
    real, secure hub, as its users would run it: Kaarst offers an E-Akte, Jüchen joins
    it, Neuss declines, Kaarst decides, revises, withdraws; comments; the hub's rules
    (NO_ITEM, TRANSITION, NOT_OWNER, CLOSED) told as sentences; the catalogue with
    each filter, show's timeline, stats, log --search, --item and publication-time
    bounds read in Europe/Berlin (30.03.2022). Each command runs with the certificate
    of the body it speaks for. */
#include <czmq.h>
#include "kh_harness.h"

#define S_OUT_MAX  (64 * 1024)

#define S_KAARST   "05162016"
#define S_JUECHEN  "05162012"
#define S_NEUSS    "05162024"
#define S_DORMAGEN "05162004"

typedef struct {
    kh_hub_t hub;
    char     out [S_OUT_MAX];           /* stdout of the last command (and stderr: 2>&1) */
    char     offer [16];                /* the E-Akte offer's seq, as text */
} s_test_t;

/* Runs the kreishub command cmd as who with stderr into stdout. Returns the exit
   status. */
static int
s_run (s_test_t *t, const char *who, const char *cmd)
{
    return kh_hub_run_as (&t->hub, who, t->out, sizeof t->out, "%s 2>&1", cmd);
}

/* Runs cmd as who and checks its exit status and that its output holds want. */
static void
s_expect (s_test_t *t, const char *name, const char *who, const char *cmd, int status,
          const char *want)
{
    int rc = s_run (t, who, cmd);
    KH_CHECK (name, rc == status && strstr (t->out, want), "%s: rc %d (want %d), "
              "output '%s' lacks '%s'", cmd, rc, status, t->out, want);
}

/* The same for a search: the recorder indexes texts once publishing pauses for a
   moment, so the command is asked again (up to 5 s) until its output holds want. */
static void
s_expect_found (s_test_t *t, const char *name, const char *cmd, const char *want)
{
    int64_t until = zclock_mono () + 5000;
    int rc;
    while ((rc = s_run (t, "admin", cmd)) == 0 && !strstr (t->out, want)
    &&     zclock_mono () < until)
        zclock_sleep (50);
    KH_CHECK (name, rc == 0 && strstr (t->out, want), "%s: rc %d, output '%s' lacks '%s'",
              cmd, rc, t->out, want);
}

/* Publishes the item or message cmd as who; returns its seq (0 on failure). */
static long
s_seq (s_test_t *t, const char *who, const char *cmd)
{
    int rc = s_run (t, who, cmd);
    long seq = 0;
    if (rc != 0 || sscanf (t->out, "seq %ld", &seq) != 1)
        printf ("FAIL %s: rc %d '%s'\n", cmd, rc, t->out);
    return seq;
}

/* The workflow: each step stored, each refusal told. */
static void
test_workflow (s_test_t *t)
{
    long offer = s_seq (t, S_KAARST, "kreishub publish offer --from Kaarst --title "
                        "'Gemeinsame E-Akte' --hf 2 --topic Verwaltung --ts 2022-03-01");
    snprintf (t->offer, sizeof t->offer, "%ld", offer);
    char cmd [512];
    snprintf (cmd, sizeof cmd, "kreishub respond %ld join --text 'Wir machen mit' "
              "--from Juechen", offer);
    KH_CHECK ("respond join by seq is stored", s_seq (t, S_JUECHEN, cmd) > offer, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub respond %ld decline --from Neuss", offer);
    KH_CHECK ("respond decline is stored", s_seq (t, S_NEUSS, cmd) > offer, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub respond %ld joined --from Neuss", offer);
    s_expect (t, "a mistyped answer gets did you mean", S_NEUSS, cmd, 1,
              "'joined' is not an action; did you mean join?");
    snprintf (cmd, sizeof cmd, "kreishub status %ld decided --text 'Rat stimmt zu' "
              "--from Kaarst", offer);
    KH_CHECK ("status decided is stored", s_seq (t, S_KAARST, cmd) > offer, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub status %ld discussion --from Kaarst", offer);
    s_expect (t, "a step back is refused with the stages the item may go to", S_KAARST,
              cmd, 2, "is at decided; it cannot go to discussion (the lifecycle moves "
              "forward only). It may go to pilot, rollout, done or withdrawn");
    snprintf (cmd, sizeof cmd, "kreishub status %ld pilot --from Juechen", offer);
    s_expect (t, "a status by another body is refused naming the owner", S_JUECHEN, cmd, 2,
              "only the item's owner 05162016 (Kaarst) or its Kreis may do that, not "
              "05162012 (J\xc3\xbc" "chen)");
    snprintf (cmd, sizeof cmd, "kreishub revise %ld --title 'Gemeinsame E-Akte (DMS)' "
              "--hf 3 --text 'genauer' --from Kaarst", offer);
    KH_CHECK ("revise is stored", s_seq (t, S_KAARST, cmd) > offer, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub revise %ld --titel x --from Kaarst", offer);
    s_expect (t, "revise: a mistyped field gets did you mean", S_KAARST, cmd, 1,
              "--titel: not a field of an item; did you mean --title?");
    snprintf (cmd, sizeof cmd, "kreishub comment %ld --text 'Start im Mai' --from Neuss",
              offer);
    KH_CHECK ("comment is stored", s_seq (t, S_NEUSS, cmd) > offer, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub comment %ld --from Neuss", offer);
    s_expect (t, "a comment needs its text", S_NEUSS, cmd, 1, "a comment needs --text");
    s_expect (t, "an item nobody has is NO_ITEM, told as a sentence", S_DORMAGEN,
              "kreishub respond 017a0ee6-1e80-7000-8000-5162000000ff join --from Dormagen",
              2, "there is no item 017a0ee6-1e80-7000-8000-5162000000ff");
    s_expect (t, "a seq beyond the log names no item", S_DORMAGEN,
              "kreishub respond 99999 join --from Dormagen", 2, "no item has seq 99999");
    snprintf (cmd, sizeof cmd, "kreishub respond %ld join --from Dormagen", offer + 1);
    s_expect (t, "the seq of a message about an item is not an item", S_DORMAGEN, cmd, 1,
              "is a message of type interest about item");
    long other = s_seq (t, S_DORMAGEN, "kreishub publish idea --title 'Zweites' "
                        "--from Dormagen");
    snprintf (cmd, sizeof cmd, "kreishub withdraw %ld --text 'kein Budget' --from Dormagen",
              other);
    KH_CHECK ("withdraw is stored", s_seq (t, S_DORMAGEN, cmd) > other, "%s", cmd);
    snprintf (cmd, sizeof cmd, "kreishub respond %ld interested --from Kaarst", other);
    s_expect (t, "an answer to a withdrawn item is CLOSED", S_KAARST, cmd, 2,
              "is closed: it is withdrawn; it takes no answers any more");
    snprintf (cmd, sizeof cmd, "kreishub status %ld done --from Dormagen", other);
    s_expect (t, "withdrawn is final", S_DORMAGEN, cmd, 2, "is withdrawn, which is final");
}

/* The catalogue, with each filter. */
static void
test_items (s_test_t *t)
{
    s_expect (t, "items lists the offer with its owner's name, stage, hf and answers",
              "admin", "kreishub items", 0, "offer         05162016 Kaarst");
    KH_CHECK ("the catalogue shows the revised title and joined/interested", strstr (t->out,
              "decided               3  1/0    ") && strstr (t->out, "Gemeinsame E-Akte (DMS)"),
              "'%s'", t->out);
    s_expect (t, "--open leaves the withdrawn item out", "admin", "kreishub items --open", 0,
              "Gemeinsame E-Akte");
    KH_CHECK ("--open: no withdrawn item", !strstr (t->out, "Zweites"), "'%s'", t->out);
    s_expect (t, "--status withdrawn", "admin", "kreishub items --status withdrawn", 0,
              "Zweites");
    KH_CHECK ("--status: only that stage", !strstr (t->out, "E-Akte"), "'%s'", t->out);
    s_expect (t, "--type and --from by name", "admin",
              "kreishub items --type offer --type request --from kaarst", 0, "E-Akte");
    s_expect (t, "--from a region prefix", "admin", "kreishub items --from 0516", 0,
              "Zweites");
    s_expect (t, "--hf", "admin", "kreishub items --hf 2", 0, "no item matches");
    s_expect (t, "--hf after the revision", "admin", "kreishub items --hf 3", 0, "E-Akte");
    s_expect (t, "--topic", "admin", "kreishub items --topic Verwaltung", 0, "E-Akte");
    s_expect (t, "--participant by name: Jüchen joined", "admin",
              "kreishub items --participant J\xc3\xbc" "chen", 0, "E-Akte");
    s_expect (t, "--participant: Neuss declined, takes no part", "admin",
              "kreishub items --participant Neuss", 0, "no item matches");
    s_expect_found (t, "--search finds an item by a comment on it",
                    "kreishub items --search Mai", "E-Akte");
    s_expect (t, "--json gives the full item", "admin", "kreishub items --json -n 1 "
              "--type offer", 0, "\"owner_name\":\"Kaarst\"");
    s_expect (t, "an unknown stage gets did you mean", "admin",
              "kreishub items --status decidet", 1, "did you mean decided?");
    s_expect (t, "items does not take a message type that is no item", "admin",
              "kreishub items --type comment", 1, "'comment' is not an item type");
}

/* show: the item, its participants, its timeline. */
static void
test_show (s_test_t *t)
{
    char cmd [128];
    snprintf (cmd, sizeof cmd, "kreishub show %s", t->offer);
    s_expect (t, "show names the item", "admin", cmd, 0, "offer ");
    KH_CHECK ("show: status with where it may go next", strstr (t->out, "status        "
              "decided since ") && strstr (t->out, "(next: pilot, rollout, done or withdrawn)"),
              "'%s'", t->out);
    KH_CHECK ("show: participants with their state", strstr (t->out, "05162012 J\xc3\xbc"
              "chen") && strstr (t->out, "joined") && strstr (t->out, "declined"), "'%s'",
              t->out);
    const char *steps [] = { "Kaarst             published the offer \"Gemeinsame E-Akte\"",
                             "J\xc3\xbc" "chen             joined: Wir machen mit",
                             "Neuss              declined",
                             "Kaarst             status: decided - Rat stimmt zu",
                             "Kaarst             revised title, hf: genauer",
                             "Neuss              comment: Start im Mai" };
    const char *at = t->out;
    for (size_t i = 0; i < sizeof steps / sizeof steps [0]; i++) {
        const char *found = at ? strstr (at, steps [i]) : NULL;
        KH_CHECK ("show's timeline tells every step, in order", found, "'%s' not after "
                  "the step before in '%s'", steps [i], t->out);
        at = found;
    }
    KH_CHECK ("the timeline's dates are Berlin's", strstr (t->out, "01.03.2022 01:00"),
              "'%s'", t->out);
    s_expect (t, "show of an item nobody has", "admin",
              "kreishub show 017a0ee6-1e80-7000-8000-5162000000ff", 2, "there is no item");
}

/* log: search, item, publication time in Berlin; stats. */
static void
test_log_stats (s_test_t *t)
{
    s_expect_found (t, "log --search finds the comment", "kreishub log --search Mai "
                    "--format csv --columns type,body.text", "type,body.text\ncomment,Start "
                    "im Mai\n");
    char cmd [128];
    snprintf (cmd, sizeof cmd, "kreishub log --item %s --format csv --columns type", t->offer);
    s_expect (t, "log --item: the item and every message about it", "admin", cmd, 0,
              "type\noffer\ninterest\ninterest\nstatus\nrevise\ncomment\n");
    s_expect (t, "log --since 01.03.2022 (Berlin) finds what was published that day",
              "admin", "kreishub log --since 01.03.2022 --until 01.03.2022 --format csv "
              "--columns type,title", 0, "type,title\noffer,Gemeinsame E-Akte\n");
    s_expect (t, "the same day in UTC ends an hour later, and the offer (00:00Z) is in it",
              "admin", "kreishub log --utc --since 2022-03-01 --until 2022-03-01 "
              "--format csv --columns type", 0, "type\noffer\n");
    s_expect (t, "30.03.2022 holds nothing here", "admin", "kreishub log --since 30.03.2022 "
              "--until 30.03.2022 --format csv --columns type", 0, "type\n");
    KH_CHECK ("--until 30.03.2022: only the header", streq (t->out, "type\n"), "'%s'",
              t->out);
    s_expect (t, "stats by municipality, with names", "admin",
              "kreishub stats --by municipality", 0, "05162016 Kaarst");
    KH_CHECK ("stats: the store and the broker", strstr (t->out, "store: ")
              && strstr (t->out, "broker: up ") && strstr (t->out, "recorder up"), "'%s'",
              t->out);
    s_expect (t, "stats --json by type", "admin", "kreishub stats --by type --json", 0,
              "{\"key\":\"offer\",\"items\":1,\"messages\":1}");
    s_expect (t, "stats: a mistyped grouping", "admin", "kreishub stats --by monht", 1,
              "did you mean month?");
}

/* Counts the lines of out that hold want. */
static int
s_lines_with (const char *out, const char *want)
{
    int count = 0;
    for (const char *line = out; line && *line; ) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        char buf [4096];
        snprintf (buf, sizeof buf, "%.*s", (int) (len < sizeof buf ? len : sizeof buf - 1),
                  line);
        count += strstr (buf, want) != NULL;
        line = end ? end + 1 : NULL;
    }
    return count;
}

/* subscribe by one item, by what items are about, and resumed with --state. */
static void
test_follow (s_test_t *t)
{
    char cmd [512];
    snprintf (cmd, sizeof cmd, "kreishub subscribe --item %s --since 1 --count 6 "
              "--timeout 5000 --json", t->offer);
    int rc = s_run (t, "admin", cmd);
    const char *types [] = { "\"type\":\"offer\"", "\"type\":\"interest\"",
                             "\"type\":\"interest\"", "\"type\":\"status\"",
                             "\"type\":\"revise\"", "\"type\":\"comment\"" };
    const char *at = t->out;
    for (size_t i = 0; i < 6 && at; i++)
        at = strstr (at, types [i]) ? strstr (at, types [i]) + 1 : NULL;
    KH_CHECK ("subscribe --item: the item and every message about it, in order", rc == 0
              && at && !strstr (t->out, "Zweites") && s_lines_with (t->out, "\"seq\"") == 6,
              "rc %d '%s'", rc, t->out);

    rc = s_run (t, "admin", "kreishub subscribe --participant Neuss --since 1 "
                "--timeout 1500 --json");
    KH_CHECK ("--participant: what the body sent, and nothing of an item it declined",
              rc == 0 && s_lines_with (t->out, "\"seq\"") == 2
              && s_lines_with (t->out, "\"from\":\"05162024\"") == 2, "rc %d '%s'", rc,
              t->out);
    rc = s_run (t, "admin", "kreishub subscribe --hf 3 --since 1 --timeout 1500 --json");
    KH_CHECK ("--hf: items judged as they stood; the revision into hf 3 and what followed",
              rc == 0 && s_lines_with (t->out, "\"seq\"") == 2
              && s_lines_with (t->out, "\"type\":\"revise\"") == 1
              && s_lines_with (t->out, "\"type\":\"comment\"") == 1, "rc %d '%s'", rc,
              t->out);
    rc = s_run (t, "admin", "kreishub subscribe --hf 6");
    KH_CHECK ("--hf 6 is refused", rc == 1 && strstr (t->out, "--hf"), "rc %d '%s'", rc,
              t->out);

    char state [256];
    snprintf (state, sizeof state, "/tmp/it_coop_state_%d", (int) getpid ());
    remove (state);
    snprintf (cmd, sizeof cmd, "kreishub subscribe --item %s --since 1 --count 3 "
              "--timeout 5000 --json --state %s", t->offer, state);
    rc = s_run (t, "admin", cmd);
    char first [S_OUT_MAX];
    snprintf (first, sizeof first, "%s", t->out);
    snprintf (cmd, sizeof cmd, "kreishub subscribe --item %s --count 3 --timeout 5000 "
              "--json --state %s", t->offer, state);
    int rc2 = s_run (t, "admin", cmd);
    KH_CHECK ("--state: a second run goes on after the last record shown, without a gap "
              "or a repeat", rc == 0 && rc2 == 0 && strstr (first, "\"type\":\"offer\"")
              && s_lines_with (first, "\"type\":\"interest\"") == 2
              && strstr (t->out, "\"type\":\"status\"")
              && strstr (t->out, "\"type\":\"revise\"")
              && strstr (t->out, "\"type\":\"comment\"")
              && !strstr (t->out, "\"type\":\"interest\""), "rc %d %d first '%s' then "
              "'%s'", rc, rc2, first, t->out);
    snprintf (cmd, sizeof cmd, "kreishub subscribe --item %s --since 1 --state %s",
              t->offer, state);
    rc = s_run (t, "admin", cmd);
    KH_CHECK ("--since beside a state file that holds a seq is refused", rc == 1
              && strstr (t->out, "give one of them"), "rc %d '%s'", rc, t->out);
    FILE *file = fopen (state, "w");
    if (file) {
        fputs ("seventeen\n", file);
        fclose (file);
    }
    snprintf (cmd, sizeof cmd, "kreishub subscribe --state %s", state);
    rc = s_run (t, "admin", cmd);
    KH_CHECK ("a state file that holds no number is refused", rc == 1
              && strstr (t->out, "not a state file"), "rc %d '%s'", rc, t->out);
    remove (state);

    char live [1024];
    snprintf (live, sizeof live, "sh -c '( sleep 1; KREISHUB_CERT=\"%s/%s.cert_secret\" "
              "kreishub comment %s --text \"Live dabei\" --from Neuss >/dev/null ) & "
              "kreishub log --follow --item %s -n 7 --format csv --columns type,body.text; "
              "status=$?; wait; exit $status'",
              t->hub.certs, S_NEUSS, t->offer, t->offer);
    rc = s_run (t, "admin", live);
    KH_CHECK ("log --follow: the stored messages about the item, then the new one live",
              rc == 0 && strstr (t->out, "type,body.text\noffer,\ninterest,Wir machen mit\n"
                                 "interest,\nstatus,Rat stimmt zu\nrevise,genauer\n"
                                 "comment,Start im Mai\ncomment,Live dabei\n"),
              "rc %d '%s'", rc, t->out);
}

int
main (void)
{
    unsetenv ("KREISHUB_FROM");
    unsetenv ("KREISHUB_CONFIG");
    s_test_t *t = (s_test_t *) calloc (1, sizeof *t);
    if (!t || kh_hub_start (&t->hub, NULL, NULL)) {
        printf ("FAIL hub starts\n");
        free (t);
        return 1;
    }
    test_workflow (t);
    test_items (t);
    test_show (t);
    test_log_stats (t);
    test_follow (t);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see logs in %s", t->hub.dir);
    free (t);
    return kh_check_done ("it_coop");
}
