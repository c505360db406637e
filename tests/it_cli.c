/*  it_cli.c - drives the real broker and recorder through the real kreishub program,
    as an admin would: publish (flags, JSON file, stdin, retry by id), subscribe (catch
    up, filters, live), log (filters and the three formats), exit statuses 0-3 (2: an
    id already used for another message, which only the store can tell; 3: no hub, a
    hung recorder, a stopped one), --help and --version, endpoints from flags,
    environment and config file. `kreishub up` has a test of its own, it_up.

    The test keeps its own model of what it published (type, sender, title, and the
    commit time the log reports) and checks every output of the program against it,
    row by row. Live subscribers run in the background; the broker runs with
    --verbose so that the test can wait until their subscriptions have reached it.
    The hub is secure: a command runs as the harness' admin (who reads everything),
    a publish as the municipality or Kreis it names with --from. */
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>
#include "kh_codec.h"
#include "kh_json.h"
#include "kh_harness.h"

#define S_MSGS_MAX   32                 /* messages the test publishes, at most */
#define S_OUT_MAX    (64 * 1024)        /* captured output of one command */
#define S_DAY_MS     (24LL * 3600 * 1000)

/* A title that needs CSV quoting and JSON escaping, in UTF-8. */
#define S_TRICKY "B\xc3\xbcrgerportal, \"Digitaler Zwilling\" f\xc3\xbcr J\xc3\xbc" "chen"

/* One message the hub acknowledged, as the test published it. */
typedef struct {
    char    type [16];
    char    from [16];
    char    title [256];
    char    at [32];                    /* commit time as the log shows it, "" unknown */
    int64_t at_ms;
    char    published [32];             /* publication time as the table shows it */
    char    shown [256];                /* the table's title column: the title, or what a
                                           message about an item did */
} s_msg_t;

/* The test's state: the hub, and the model of its log (msgs [i] has seq i + 1). */
typedef struct {
    kh_hub_t hub;
    s_msg_t  msgs [S_MSGS_MAX];
    int      head;                      /* seq of the last acknowledged message */
    char     dead [64];                 /* a loopback endpoint nobody listens on */
    char     out [S_OUT_MAX];           /* what the last command printed */
} s_test_t;

/* A filter of the log, as the test computes it from its model. */
typedef struct {
    const char *type;                   /* types, blank-separated ("idea offer") */
    const char *from;                   /* AGS, blank-separated; "0516*": a prefix */
    int         since;                  /* seq, 0: none */
    int         until;
    int64_t     since_ms;               /* commit time, 0: none */
    int64_t     until_ms;
    int         limit;
} s_filter_t;

/* ------------------------------------------------------------- commands */

/* Writes text into out as one shell word in single quotes. */
static void
s_quote (const char *text, char *out, size_t cap)
{
    size_t n = 0;
    out [n++] = '\'';
    for (; *text && n + 6 < cap; text++) {
        if (*text == '\'') {
            memcpy (out + n, "'\\''", 4);
            n += 4;
        }
        else
            out [n++] = *text;
    }
    out [n++] = '\'';
    out [n] = 0;
}

/* Runs a shell command with the hub's endpoints in the environment, the programs
   on PATH, and the certificate of who; stdout goes to t->out. Returns the exit
   status. */
static int
s_sh_as (s_test_t *t, const char *who, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_sh_as (s_test_t *t, const char *who, const char *fmt, ...)
{
    char cmd [8192], quoted [10000];
    va_list args;
    va_start (args, fmt);
    vsnprintf (cmd, sizeof cmd, fmt, args);
    va_end (args);
    s_quote (cmd, quoted, sizeof quoted);
    /* an inner shell, so that every command of a pipeline gets the environment */
    return kh_hub_run_as (&t->hub, who, t->out, sizeof t->out, "sh -c %s", quoted);
}

/* The same as the admin. */
#define s_sh(t, ...) s_sh_as (t, "admin", __VA_ARGS__)

/* Writes text into the file at path. Returns 0 or -1. */
static int
s_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fputs (text, file);
    return fclose (file);
}

/* Counts the lines of the file at path that contain needle. */
static int
s_count_in_file (const char *path, const char *needle)
{
    FILE *file = fopen (path, "r");
    char line [1024];
    int count = 0;
    while (file && fgets (line, sizeof line, file))
        count += strstr (line, needle) != NULL;
    if (file)
        fclose (file);
    return count;
}

/* Starts `sh -c "exec CMD"` in the background with the hub's environment (as the
   admin), stdout to
   out_path and stderr to err_path. Returns the pid (the program's own, thanks to
   exec), or -1. */
static pid_t
s_background (s_test_t *t, const char *out_path, const char *err_path, const char *cmd)
{
    char script [8192], path [4096], cert [400];
    snprintf (script, sizeof script, "exec %s", cmd);
    snprintf (cert, sizeof cert, "%s", kh_hub_cert (&t->hub, "admin"));
    const char *bin = getenv ("KH_BIN_DIR");
    snprintf (path, sizeof path, "%s:%s", bin ? bin : ".", getenv ("PATH") ? getenv ("PATH") : "");
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open (err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (out < 0 || err < 0 || dup2 (out, 1) < 0 || dup2 (err, 2) < 0)
            _exit (126);
        setenv ("PATH", path, 1);
        setenv ("KREISHUB_ENDPOINT", t->hub.client, 1);
        setenv ("KREISHUB_LIVE", t->hub.live, 1);
        setenv ("KREISHUB_CERT", cert, 1);
        setenv ("KREISHUB_SERVER_CERT", t->hub.server_cert, 1);
        execl ("/bin/sh", "sh", "-c", script, (char *) NULL);
        _exit (127);
    }
    return pid;
}

/* Waits up to ms for pid; returns its exit status, or -1 if it had to be killed or
   did not exit normally. */
static int
s_wait_exit (pid_t pid, int ms)
{
    int status = 0;
    for (int64_t end = zclock_mono () + ms; zclock_mono () < end; zclock_sleep (10))
        if (waitpid (pid, &status, WNOHANG) == pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return -1;
}

/* The number of times the broker logged a subscription to topic (it runs with -v). */
static int
s_subscriptions (s_test_t *t, const char *topic)
{
    char path [512], needle [128];
    snprintf (path, sizeof path, "%s/kreishub-broker.err", t->hub.dir);
    snprintf (needle, sizeof needle, "broker: subscribe '%s'", topic);
    return s_count_in_file (path, needle);
}

/* Waits up to ms until the broker has logged more [i] new subscriptions to idea/,
   offer/ and !hb (i = 0, 1, 2) beyond the counts in base. Returns true if it did. */
static bool
s_await_subscriptions (s_test_t *t, const int base [3], const int more [3], int ms)
{
    static const char *const topics [3] = { "idea/", "offer/", "!hb" };
    for (int64_t end = zclock_mono () + ms; zclock_mono () < end; zclock_sleep (20)) {
        int ready = 0;
        for (int i = 0; i < 3; i++)
            ready += s_subscriptions (t, topics [i]) >= base [i] + more [i];
        if (ready == 3)
            return true;
    }
    return false;
}

/* Copies the current subscription counts into base. */
static void
s_subscription_base (s_test_t *t, int base [3])
{
    base [0] = s_subscriptions (t, "idea/");
    base [1] = s_subscriptions (t, "offer/");
    base [2] = s_subscriptions (t, "!hb");
}

/* Finds a free loopback port and makes t->dead an endpoint on it. */
static void
s_dead_endpoint (s_test_t *t)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t len = sizeof addr;
    int port = 1;                       /* never listened on by anyone unprivileged */
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
    &&  getsockname (fd, (struct sockaddr *) &addr, &len) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    snprintf (t->dead, sizeof t->dead, "tcp://127.0.0.1:%d", port);
}

/* ---------------------------------------------------------- the model */

/* Runs a publish command as from and checks that it printed the next seq; on
   success adds the message to the model. */
static void
s_publish (s_test_t *t, const char *type, const char *from, const char *title,
           const char *cmd)
{
    int rc = s_sh_as (t, from, "%s", cmd);
    char expect [64];
    snprintf (expect, sizeof expect, "seq %d\n", t->head + 1);
    KH_CHECK ("publish prints the next seq and exits 0", rc == 0 && streq (t->out, expect),
              "rc %d, printed '%s', expected '%s' for: %s", rc, t->out, expect, cmd);
    if (rc == 0 && streq (t->out, expect) && t->head < S_MSGS_MAX) {
        s_msg_t *msg = &t->msgs [t->head++];
        snprintf (msg->type, sizeof msg->type, "%s", type);
        snprintf (msg->from, sizeof msg->from, "%s", from);
        snprintf (msg->title, sizeof msg->title, "%s", title);
        snprintf (msg->shown, sizeof msg->shown, "%s", title);
    }
    kh_hub_next_ms ();                  /* distinct commit times, for --since TIME */
}

/* Sets what the table shows in the title column of the last message published: for
   a message about an item, what it did (kreishub(1), log). */
static void
s_shown (s_test_t *t, const char *what)
{
    if (t->head > 0)
        snprintf (t->msgs [t->head - 1].shown, sizeof t->msgs [0].shown, "%s", what);
}

/* Publishes with --title and --from and the given extra flags. */
static void
s_publish_flags (s_test_t *t, const char *type, const char *from, const char *title,
                 const char *extra)
{
    char quoted [600], cmd [2048];
    s_quote (title, quoted, sizeof quoted);
    snprintf (cmd, sizeof cmd, "kreishub publish %s --title %s --from %s %s", type, quoted,
              from, extra);
    s_publish (t, type, from, title, cmd);
}

/* True if value is one of the blank-separated words of list (NULL: any), a word
   ending in '*' standing for every value that begins so. */
static bool
s_listed (const char *list, const char *value)
{
    for (const char *word = list; word && *word; ) {
        size_t len = strcspn (word, " ");
        bool prefix = len && word [len - 1] == '*';
        if (prefix ? strncmp (value, word, len - 1) == 0
                   : strlen (value) == len && strncmp (value, word, len) == 0)
            return true;
        word += len + strspn (word + len, " ");
    }
    return !list;
}

/* True if the message with seq (1-based) passes filter f, ignoring the limit. */
static bool
s_matches (const s_test_t *t, int seq, const s_filter_t *f)
{
    const s_msg_t *msg = &t->msgs [seq - 1];
    return s_listed (f->type, msg->type) && s_listed (f->from, msg->from)
        && (!f->since || seq >= f->since) && (!f->until || seq <= f->until)
        && (!f->since_ms || msg->at_ms >= f->since_ms)
        && (!f->until_ms || msg->at_ms <= f->until_ms);
}

/* Fills seqs with what filter f selects from the model; returns how many. */
static int
s_expected (const s_test_t *t, const s_filter_t *f, int seqs [S_MSGS_MAX])
{
    int count = 0;
    for (int seq = 1; seq <= t->head && (!f->limit || count < f->limit); seq++)
        if (s_matches (t, seq, f))
            seqs [count++] = seq;
    return count;
}

/* --------------------------------------------------------- JSON and CSV */

/* Returns the value of key in a msgpack map, or NULL. */
static const msgpack_object *
s_key (const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen (key)
        &&  memcmp (k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr [i].val;
    }
    return NULL;
}

/* Copies a msgpack str into out ("" if obj is not one). */
static void
s_str (const msgpack_object *obj, char *out, size_t cap)
{
    bool ok = obj && obj->type == MSGPACK_OBJECT_STR;
    snprintf (out, cap, "%.*s", ok ? (int) obj->via.str.size : 0, ok ? obj->via.str.ptr : "");
}

/* One line of output read back: the columns every format shows. */
typedef struct {
    uint64_t seq;
    char     at [512];                  /* as large as a CSV field */
    char     type [512];
    char     from [512];
    char     title [512];
    char     ts [512];                  /* publication time, JSON only */
} s_row_t;

/* Writes ms as Europe/Berlin's local time, TT.MM.JJJJ HH:MM, by the system's time
   zone data (an oracle independent of the CLI's own rule). */
static void
s_berlin (int64_t ms, char *out, size_t cap)
{
    setenv ("TZ", "Europe/Berlin", 1);
    tzset ();
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    localtime_r (&secs, &tm);
    strftime (out, cap, "%d.%m.%Y %H:%M", &tm);
    unsetenv ("TZ");
    tzset ();
}

/* Writes the ISO time iso (as the JSON shows ts) as s_berlin does; "?" if iso is
   no time. */
static void
s_published (const char *iso, char *out, size_t cap)
{
    uint64_t ms = 0;
    if (kh_time_parse (iso, &ms) == 0)
        s_berlin ((int64_t) ms, out, cap);
    else
        snprintf (out, cap, "?");
}

/* Reads one JSON line (an object as `log --format json` prints it) into row.
   Returns 0, or -1 if it is not such an object. */
static int
s_json_row (const char *line, size_t len, s_row_t *row)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_problem_t why;
    msgpack_unpacked u;
    msgpack_unpacked_init (&u);
    int rc = kh_json_to_msgpack (line, len, &buf, &why) ? -1 : 0;
    if (rc == 0 && msgpack_unpack_next (&u, buf.data, buf.size, NULL) != MSGPACK_UNPACK_SUCCESS)
        rc = -1;
    const msgpack_object *seq = rc == 0 ? s_key (&u.data, "seq") : NULL;
    if (!seq || seq->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        rc = -1;
    else {
        row->seq = seq->via.u64;
        s_str (s_key (&u.data, "at"), row->at, sizeof row->at);
        s_str (s_key (&u.data, "ts"), row->ts, sizeof row->ts);
        s_str (s_key (&u.data, "type"), row->type, sizeof row->type);
        s_str (s_key (&u.data, "from"), row->from, sizeof row->from);
        s_str (s_key (s_key (&u.data, "body"), "title"), row->title, sizeof row->title);
    }
    msgpack_unpacked_destroy (&u);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* Splits one CSV line (RFC 4180, no line breaks inside fields) into at most max
   fields of cap bytes each. Returns the number of fields, or -1 if a quoted field
   is not closed. */
static int
s_csv_fields (const char *line, char fields [][512], int max)
{
    int count = 0;
    const char *p = line;
    while (count < max) {
        char *out = fields [count++];
        size_t n = 0;
        if (*p == '"') {
            for (p++; ; p++) {
                if (*p == 0)
                    return -1;
                if (*p == '"' && p [1] != '"')
                    break;
                if (*p == '"')
                    p++;
                if (n < 511)
                    out [n++] = *p;
            }
            p++;
        }
        else
            for (; *p && *p != ','; p++)
                if (n < 511)
                    out [n++] = *p;
        out [n] = 0;
        if (*p != ',')
            break;
        p++;
    }
    return count;
}

/* Checks that row shows the model's message with seq expect. */
static void
s_check_row (const s_test_t *t, const char *what, const s_row_t *row, int expect)
{
    const s_msg_t *msg = &t->msgs [expect - 1];
    KH_CHECK ("each row shows the right message", row->seq == (uint64_t) expect
              && streq (row->type, msg->type) && streq (row->from, msg->from)
              && streq (row->title, msg->title) && (!*msg->at || streq (row->at, msg->at)),
              "%s: got %llu %s %s '%s' %s, expected %d %s %s '%s' %s", what,
              (unsigned long long) row->seq, row->type, row->from, row->title, row->at,
              expect, msg->type, msg->from, msg->title, msg->at);
}

/* Checks JSON lines in text against the expected seqs. Returns the rows seen. */
static int
s_check_json_lines (const s_test_t *t, const char *what, const char *text,
                    const int *seqs, int count)
{
    int rows = 0;
    for (const char *line = text; *line; rows++) {
        const char *end = strchr (line, '\n');
        size_t len = end ? (size_t) (end - line) : strlen (line);
        s_row_t row = { 0 };
        int rc = s_json_row (line, len, &row);
        KH_CHECK ("each JSON line is one object", rc == 0, "%s: line %d '%.*s'", what, rows + 1,
                  (int) len, line);
        if (rc == 0 && rows < count)
            s_check_row (t, what, &row, seqs [rows]);
        line = end ? end + 1 : line + len;
    }
    KH_CHECK ("exactly the expected rows", rows == count, "%s: %d rows, expected %d",
              what, rows, count);
    return rows;
}

/* ------------------------------------------------------------- publish */

/* Publishes six messages in every way the CLI offers and checks each seq; proves
   that a resend with the same id is acknowledged with the original seq. */
static void
test_publish (s_test_t *t)
{
    s_publish_flags (t, "idea", "05162012", "Gemeinsame Bauhof-Software",
                     "--hf 2 --keywords 'Bauhof,Software' --participants 05162028");
    if (t->head != 1)
        return;                         /* main stops: the rest would only time out */
    s_publish_flags (t, "offer", "05162004", S_TRICKY, "--cost kostenfrei --licence MIT");

    char path [512], cmd [2048];
    snprintf (path, sizeof path, "%s/idea.json", t->hub.dir);
    s_write_file (path, "{\"title\": \"Offene Daten: Ratsinformationssystem\", \"hf\": 3,\n"
                        " \"keywords\": [\"OpenData\"]}\n");
    snprintf (cmd, sizeof cmd, "kreishub publish idea --json '%s' --from 05162016", path);
    s_publish (t, "idea", "05162016", "Offene Daten: Ratsinformationssystem", cmd);

    /* stdin, and a flag after --json overrides the JSON's field */
    s_publish (t, "idea", "05162012", "\xc3\x9c" "berschrieben",
               "printf '{\"title\":\"aus JSON\",\"topic\":\"Querschnitt\"}' | "
               "kreishub publish idea --json - --title '\xc3\x9c" "berschrieben' --from 05162012");

    snprintf (path, sizeof path, "%s/offer.json", t->hub.dir);
    s_write_file (path, "{\"title\": \"Geoportal als Shared Service\", \"maturity\": \"stable\"}");
    snprintf (cmd, sizeof cmd, "kreishub publish offer --json '%s' --from 05162 "
              "--id 017ce42a-3800-7001-8000-0000000000c1", path);
    s_publish (t, "offer", "05162", "Geoportal als Shared Service", cmd);
    int rc = s_sh_as (t, "05162", "%s", cmd);
    char expect [64];
    snprintf (expect, sizeof expect, "seq %d (duplicate)\n", t->head);
    KH_CHECK ("publishing the same id again gives the same seq, marked duplicate",
              rc == 0 && streq (t->out, expect), "rc %d, printed '%s', expected '%s'", rc,
              t->out, expect);
    /* what only the hub can tell: the id is taken by another message (exit 2) */
    snprintf (cmd, sizeof cmd, "kreishub publish offer --title 'Anderes Angebot' --from 05162 "
              "--id 017ce42a-3800-7001-8000-0000000000c1 2>&1 >/dev/null");
    rc = s_sh_as (t, "05162", "%s", cmd);
    snprintf (expect, sizeof expect, "kreishub: rejected: VALUE: id: already used by seq %d",
              t->head);
    KH_CHECK ("an id already used for another message is rejected by the hub: exit 2, the "
              "hub's reason on stderr", rc == 2 && strncmp (t->out, expect, strlen (expect)) == 0,
              "rc %d, stderr '%s', expected '%s...'", rc, t->out, expect);

    s_publish_flags (t, "idea", "05162004", "Gemeinsamer Glasfaserausbau", "--maturity concept");
}

/* ----------------------------------------------------------- subscribe */

/* Runs `subscribe --since 1 --json` with more arguments; checks it prints exactly
   the expected records. count_extra asks for that many more than exist, so the
   command must time out (exit 3) after printing exactly the matching ones. */
static void
s_check_catch_up (s_test_t *t, const char *args, const s_filter_t *f, int count_extra)
{
    int seqs [S_MSGS_MAX];
    int count = s_expected (t, f, seqs);
    int rc = s_sh (t, "kreishub subscribe --since 1 --count %d --json %s -t %d 2>/dev/null",
                   count + count_extra, args, count_extra ? 1000 : 10000);
    char what [256];
    snprintf (what, sizeof what, "subscribe --since 1 %s", args);
    KH_CHECK ("subscribe --count N exits 0 once N records came, 3 if they do not come",
              rc == (count_extra ? 3 : 0), "%s: rc %d", what, rc);
    s_check_json_lines (t, what, t->out, seqs, count);
}

/* Two subscribers started live (no --since), one for everything and one for offers,
   get exactly what is published after they are connected. */
static void
s_check_live (s_test_t *t)
{
    char out_all [512], out_offer [512], err [512];
    snprintf (out_all, sizeof out_all, "%s/live-all.out", t->hub.dir);
    snprintf (out_offer, sizeof out_offer, "%s/live-offer.out", t->hub.dir);
    snprintf (err, sizeof err, "%s/live.err", t->hub.dir);
    int base [3];
    s_subscription_base (t, base);
    pid_t all = s_background (t, out_all, err, "kreishub subscribe --count 3 --json -t 20000");
    pid_t offer = s_background (t, out_offer, err,
                                "kreishub subscribe --type offer --count 1 --json -t 20000");
    bool ready = s_await_subscriptions (t, base, (const int [3]) { 1, 2, 2 }, 20000);
    KH_CHECK ("live subscribers reach the broker", ready, "no subscriptions in the broker log");
    s_publish_flags (t, "idea", "05162008", "Interkommunales E-Akten-Projekt", "");
    s_publish_flags (t, "offer", "05162008", "Serverraum zur Mitnutzung", "");
    s_publish_flags (t, "idea", "05162024", "Digitale Sitzungsgeld-Abrechnung", "");

    int rc = s_wait_exit (all, 20000);
    kh_hub_slurp (out_all, t->out, sizeof t->out);
    KH_CHECK ("a live subscriber exits 0 after --count records", rc == 0, "rc %d", rc);
    int seqs [3] = { t->head - 2, t->head - 1, t->head };
    s_check_json_lines (t, "live subscribe --count 3", t->out, seqs, 3);

    rc = s_wait_exit (offer, 20000);
    kh_hub_slurp (out_offer, t->out, sizeof t->out);
    KH_CHECK ("a live subscriber with --type exits 0 after --count records", rc == 0, "rc %d", rc);
    s_check_json_lines (t, "live subscribe --type offer", t->out, seqs + 1, 1);
}

static void
test_subscribe (s_test_t *t)
{
    s_check_catch_up (t, "", &(s_filter_t) { 0 }, 0);
    s_check_catch_up (t, "--type idea", &(s_filter_t) { .type = "idea" }, 0);
    s_check_catch_up (t, "--from 05162004", &(s_filter_t) { .from = "05162004" }, 0);
    s_check_catch_up (t, "--type offer --from 05162", &(s_filter_t) { .type = "offer",
                      .from = "05162" }, 0);
    s_check_catch_up (t, "--type offer", &(s_filter_t) { .type = "offer" }, 1);
    s_check_catch_up (t, "--type idea --type offer", &(s_filter_t) { .type = "idea offer" },
                      0);
    s_check_catch_up (t, "--from j\xc3\xbc" "chen --from DORMAGEN --type idea",
                      &(s_filter_t) { .from = "05162012 05162004", .type = "idea" }, 0);
    s_check_catch_up (t, "--from 0516", &(s_filter_t) { .from = "0516*" }, 0);
    s_check_catch_up (t, "--from Rhein-Kreis --from kaa", &(s_filter_t) {
                      .from = "05162 05162016" }, 1);
    s_check_live (t);
}

/* ----------------------------------------------------------------- log */

/* Learns each record's commit time from `log --format json` (and checks it). */
static void
s_learn_times (s_test_t *t)
{
    int rc = s_sh (t, "kreishub log --format json");
    int seqs [S_MSGS_MAX];
    int count = s_expected (t, &(s_filter_t) { 0 }, seqs);
    KH_CHECK ("log exits 0", rc == 0, "rc %d", rc);
    s_check_json_lines (t, "log --format json", t->out, seqs, count);
    const char *line = t->out;
    for (int i = 0; i < t->head && *line; i++) {
        const char *end = strchr (line, '\n');
        s_row_t row = { 0 };
        uint64_t ms = 0;
        if (end && s_json_row (line, (size_t) (end - line), &row) == 0
        &&  kh_time_parse (row.at, &ms) == 0 && row.seq == (uint64_t) i + 1) {
            snprintf (t->msgs [i].at, sizeof t->msgs [i].at, "%.31s", row.at);
            t->msgs [i].at_ms = (int64_t) ms;
            s_published (row.ts, t->msgs [i].published, sizeof t->msgs [i].published);
        }
        KH_CHECK ("commit times increase with seq", t->msgs [i].at_ms > 0
                  && (i == 0 || t->msgs [i].at_ms > t->msgs [i - 1].at_ms),
                  "seq %d at '%s'", i + 1, t->msgs [i].at);
        line = end ? end + 1 : line + strlen (line);
    }
}

/* The Kreis and its members as the CLI names them without a section kreis. */
static const char *const s_names [][2] = {
    { "05162", "Rhein-Kreis Neuss" }, { "05162004", "Dormagen" },
    { "05162008", "Grevenbroich" }, { "05162012", "J\xc3\xbc" "chen" },
    { "05162016", "Kaarst" }, { "05162020", "Korschenbroich" }, { "05162022", "Meerbusch" },
    { "05162024", "Neuss" }, { "05162028", "Rommerskirchen" }
};

/* Writes the table's FROM cell for ags into out: the AGS and its name, padded to
   the width of the longest, "05162 Rhein-Kreis Neuss", in characters. */
static void
s_who (const char *ags, char *out, size_t cap)
{
    const char *name = NULL;
    for (size_t i = 0; i < sizeof s_names / sizeof s_names [0]; i++)
        if (streq (s_names [i][0], ags))
            name = s_names [i][1];
    int n = snprintf (out, cap, "%s%s%s", ags, name ? " " : "", name ? name : "");
    int chars = 0;
    for (const char *p = out; *p; p++)
        chars += ((unsigned char) *p & 0xc0) != 0x80;
    snprintf (out + n, cap - (size_t) n, "%*s", chars < 26 ? 26 - chars : 0, "");
}

/* Checks `log ARGS` in table format: the header, then exactly the expected rows,
   each sender with its name. */
static void
s_check_table (s_test_t *t, const char *args, const int *seqs, int count)
{
    int rc = s_sh (t, "kreishub log %s", args);
    char expect [S_OUT_MAX], who [128];
    int width = 12;                     /* the longest type: announcement */
    size_t n = (size_t) snprintf (expect, sizeof expect, "%8s  %-16s  %-*s  %-26s  %s\n",
                                  "SEQ", "PUBLISHED", width, "TYPE", "FROM", "TITLE");
    for (int i = 0; i < count && n < sizeof expect; i++) {
        const s_msg_t *msg = &t->msgs [seqs [i] - 1];
        s_who (msg->from, who, sizeof who);
        n += (size_t) snprintf (expect + n, sizeof expect - n, "%8d  %-16s  %-*s  %s  %s\n",
                                seqs [i], msg->published, width, msg->type, who, msg->shown);
    }
    KH_CHECK ("log prints the table with exactly the expected rows",
              rc == 0 && streq (t->out, expect), "log %s: rc %d, got\n%s\nexpected\n%s",
              args, rc, t->out, expect);
}

/* Checks `log ARGS --format csv`: the header, then exactly the expected rows. */
static void
s_check_csv (s_test_t *t, const char *args, const int *seqs, int count)
{
    int rc = s_sh (t, "kreishub log %s --format csv", args);
    const char *header = "seq,at,id,type,from,ts,title,body\n";
    KH_CHECK ("log --format csv exits 0 and starts with its header",
              rc == 0 && strncmp (t->out, header, strlen (header)) == 0, "log %s: rc %d '%.60s'",
              args, rc, t->out);
    KH_CHECK ("log --format csv prints one line per row", kh_hub_lines (t->out) == count + 1,
              "log %s: %d lines, expected %d", args, kh_hub_lines (t->out), count + 1);
    const char *line = strchr (t->out, '\n');
    for (int i = 0; line && line [1] && i < count; i++) {
        line++;
        char text [2048], fields [8][512] = { { 0 } };
        size_t len = strcspn (line, "\n");
        snprintf (text, sizeof text, "%.*s", (int) len, line);
        int nf = s_csv_fields (text, fields, 8);
        s_row_t row = { .seq = strtoull (fields [0], NULL, 10) };
        snprintf (row.at, sizeof row.at, "%s", fields [1]);
        snprintf (row.type, sizeof row.type, "%s", fields [3]);
        snprintf (row.from, sizeof row.from, "%s", fields [4]);
        snprintf (row.title, sizeof row.title, "%s", fields [6]);
        KH_CHECK ("a CSV row has eight fields", nf == 8, "log %s: '%s'", args, text);
        if (nf == 8)
            s_check_row (t, "csv", &row, seqs [i]);
        line += len;
    }
}

/* Checks one filter of the log in all three formats. */
static void
s_check_log (s_test_t *t, const char *args, const s_filter_t *f)
{
    int seqs [S_MSGS_MAX];
    int count = s_expected (t, f, seqs);
    s_check_table (t, args, seqs, count);
    int rc = s_sh (t, "kreishub log %s --format json", args);
    char what [256];
    snprintf (what, sizeof what, "log %s --format json", args);
    KH_CHECK ("log --format json exits 0", rc == 0, "%s: rc %d", what, rc);
    s_check_json_lines (t, what, t->out, seqs, count);
    s_check_csv (t, args, seqs, count);
}

/* The tricky title, quoted as RFC 4180 wants, and the JSON body of the JSON file. */
static void
s_check_quoting (s_test_t *t)
{
    int rc = s_sh (t, "kreishub log --type offer --from 05162004 --format csv");
    KH_CHECK ("CSV quotes a field with a comma and doubles its quotes, UTF-8 intact",
              rc == 0 && strstr (t->out, ",\"B\xc3\xbcrgerportal, \"\"Digitaler Zwilling\"\" "
                                         "f\xc3\xbcr J\xc3\xbc" "chen\","),
              "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --from 05162016 --format json");
    KH_CHECK ("a body from a JSON file is stored as given", rc == 0
              && strstr (t->out, "\"body\":{\"title\":\"Offene Daten: Ratsinformationssystem\","
                                 "\"hf\":3,\"keywords\":[\"OpenData\"]}"),
              "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --type idea --from 05162012 --since 2 --format json");
    KH_CHECK ("a flag after --json - overrides the JSON's field, the rest is kept", rc == 0
              && strstr (t->out, "\"body\":{\"title\":\"\xc3\x9c" "berschrieben\","
                                 "\"topic\":\"Querschnitt\"}"), "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --since 2 --until 2 --format json");
    KH_CHECK ("JSON escapes the quotes of a title", rc == 0
              && strstr (t->out, "\"title\":\"B\xc3\xbcrgerportal, \\\"Digitaler Zwilling\\\" "
                                 "f\xc3\xbcr J\xc3\xbc" "chen\""), "rc %d '%s'", rc, t->out);
}

/* Counts the non-overlapping occurrences of needle in text. */
static int
s_occurrences (const char *text, const char *needle)
{
    int count = 0;
    for (const char *p = strstr (text, needle); p; p = strstr (p + strlen (needle), needle))
        count++;
    return count;
}

/* Exports with chosen columns, as JSON Lines, and for spreadsheets (--excel). */
static void
s_check_export (s_test_t *t)
{
    int rc = s_sh (t, "kreishub log --format csv --columns 'seq,from,name, body.keywords' "
                   "--type idea --from 05162012 --until 1");
    KH_CHECK ("--columns chooses the columns, a list's items joined with ';'", rc == 0
              && streq (t->out, "seq,from,name,body.keywords\n"
                                "1,05162012,J\xc3\xbc" "chen,Bauhof;Software\n"),
              "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --format json --columns seq,name,title,body.hf --until 2");
    KH_CHECK ("JSON Lines with chosen columns", rc == 0
              && streq (t->out, "{\"seq\":1,\"name\":\"J\xc3\xbc" "chen\",\"title\":"
                                "\"Gemeinsame Bauhof-Software\",\"body.hf\":2}\n"
                                "{\"seq\":2,\"name\":\"Dormagen\",\"title\":\"B\xc3\xbc"
                                "rgerportal, \\\"Digitaler Zwilling\\\" f\xc3\xbcr J\xc3\xbc"
                                "chen\",\"body.hf\":null}\n"), "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --type comment --from neuss -f csv --columns seq,from,body.text");
    KH_CHECK ("a text with a line break stays one row, quoted", rc == 0
              && strstr (t->out, ",05162024,\"Neuss pr\xc3\xbc" "ft.\nBis M\xc3\xa4rz.\"\n")
              && s_occurrences (t->out, "\n") == 3, "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --excel --until 2");
    KH_CHECK ("--excel: the BOM, ';', quoted texts, CRLF, Berlin's dates, the names",
              rc == 0 && strncmp (t->out, "\xef\xbb\xbf\"seq\";\"at\";\"id\";\"type\";"
                                  "\"from\";\"name\";\"ts\";\"title\";\"body\"\r\n", 59) == 0
              && s_occurrences (t->out, "\r\n") == 3 && s_occurrences (t->out, "\n") == 3
              && strstr (t->out, ";\"=\"\"05162004\"\"\";\"Dormagen\";")
              && strstr (t->out, ";\"B\xc3\xbcrgerportal, \"\"Digitaler Zwilling\"\" "
                                 "f\xc3\xbcr J\xc3\xbc" "chen\";"), "rc %d '%s'", rc, t->out);
    char date [32], expect [48];
    s_berlin (t->msgs [0].at_ms, date, sizeof date);
    snprintf (expect, sizeof expect, "\r\n1;%s;", date);
    KH_CHECK ("--excel gives the commit time in Berlin as TT.MM.JJJJ HH:MM",
              strstr (t->out, expect), "'%s' not in '%s'", expect, t->out);
    rc = s_sh (t, "kreishub log --type comment --from Neuss --excel --columns seq,body.text");
    KH_CHECK ("--excel keeps a line break inside the quotes, the row ends in CRLF", rc == 0
              && strstr (t->out, ";\"Neuss pr\xc3\xbc" "ft.\nBis M\xc3\xa4rz.\"\r\n"),
              "rc %d '%s'", rc, t->out);
}

/* Formats ms as a time argument: "YYYY-MM-DDTHH:MM:SS.mmmZ", or with minutes only
   ("YYYY-MM-DD HH:MM"), or the date alone. */
static void
s_time_arg (int64_t ms, int precision, char *out, size_t cap)
{
    char full [25];
    kh_time_format ((uint64_t) ms, full);
    if (precision == 0)
        snprintf (out, cap, "%.10s", full);
    else
    if (precision == 1)
        snprintf (out, cap, "'%.10s %.5s'", full, full + 11);
    else
        snprintf (out, cap, "%s", full);
}

static void
test_log (s_test_t *t)
{
    s_learn_times (t);
    s_check_log (t, "", &(s_filter_t) { 0 });
    s_check_log (t, "--type offer", &(s_filter_t) { .type = "offer" });
    s_check_log (t, "--type idea", &(s_filter_t) { .type = "idea" });
    s_check_log (t, "--from 05162004", &(s_filter_t) { .from = "05162004" });
    s_check_log (t, "--type idea --from 05162012", &(s_filter_t) { .type = "idea",
                 .from = "05162012" });
    s_check_log (t, "--since 3 --until 5", &(s_filter_t) { .since = 3, .until = 5 });
    s_check_log (t, "--since 6", &(s_filter_t) { .since = 6 });
    s_check_log (t, "--until 2", &(s_filter_t) { .until = 2 });
    s_check_log (t, "--limit 3", &(s_filter_t) { .limit = 3 });
    s_check_log (t, "--since 4 -n 2 --type idea", &(s_filter_t) { .since = 4, .limit = 2,
                 .type = "idea" });
    s_check_log (t, "--since 99", &(s_filter_t) { .since = 99 });
    /* repeated filters accumulate; a sender by name, in any case, or region prefix */
    s_check_log (t, "--type idea --type offer", &(s_filter_t) { .type = "idea offer" });
    s_check_log (t, "--type offer --type idea -n 3", &(s_filter_t) { .type = "idea offer",
                 .limit = 3 });
    s_check_log (t, "--from Dormagen --from j\xc3\xbc" "chen", &(s_filter_t) {
                 .from = "05162004 05162012" });
    s_check_log (t, "--from JUECHEN --type idea --type offer --from 05162", &(s_filter_t) {
                 .from = "05162012 05162", .type = "idea offer" });
    s_check_log (t, "--from 0516", &(s_filter_t) { .from = "0516*" });
    s_check_log (t, "--from '05162*' --type offer", &(s_filter_t) { .from = "05162*",
                 .type = "offer" });
    s_check_log (t, "--from 05162 --from 0516201 --since 2", &(s_filter_t) {
                 .from = "05162 0516201*", .since = 2 });
    s_check_log (t, "--from kaarst --from Gre --type idea", &(s_filter_t) {
                 .from = "05162016 05162008", .type = "idea" });

    /* commit times (--stored), in UTC: exact to the ms, to the minute, and dates (an
       --until date: whole day) */
    char arg [64], args [160];
    const s_msg_t *m5 = &t->msgs [4], *m3 = &t->msgs [2], *last = &t->msgs [t->head - 1];
    s_time_arg (m5->at_ms, 2, arg, sizeof arg);
    snprintf (args, sizeof args, "--stored --utc --since %s", arg);
    s_check_log (t, args, &(s_filter_t) { .since_ms = m5->at_ms });
    s_time_arg (m3->at_ms, 2, arg, sizeof arg);
    snprintf (args, sizeof args, "--stored --utc --until %s", arg);
    s_check_log (t, args, &(s_filter_t) { .until_ms = m3->at_ms });
    int64_t minute = m5->at_ms - m5->at_ms % 60000;
    s_time_arg (minute, 1, arg, sizeof arg);
    snprintf (args, sizeof args, "--stored --utc --since %s --type idea", arg);
    s_check_log (t, args, &(s_filter_t) { .since_ms = minute, .type = "idea" });
    int64_t day = t->msgs [0].at_ms - t->msgs [0].at_ms % S_DAY_MS;
    s_time_arg (day, 0, arg, sizeof arg);
    snprintf (args, sizeof args, "--stored --utc --until %s", arg);
    s_check_log (t, args, &(s_filter_t) { .until_ms = day + S_DAY_MS - 1 });
    s_time_arg (last->at_ms - last->at_ms % S_DAY_MS + S_DAY_MS, 0, arg, sizeof arg);
    snprintf (args, sizeof args, "--stored --utc --since %s", arg);
    s_check_log (t, args, &(s_filter_t) { .since_ms = last->at_ms + S_DAY_MS });
    s_check_log (t, "--stored --since 2021-11-01 --from 05162", &(s_filter_t) { .from = "05162" });
    s_check_quoting (t);
    s_check_export (t);
}

/* ------------------------------------------------------- exit statuses */

/* Runs a command as who that must fail with status expect and say `needle` on
   stderr. */
static void
s_check_fails_as (s_test_t *t, const char *who, const char *cmd, int expect,
                  const char *needle)
{
    int rc = s_sh_as (t, who, "%s 2>&1 >/dev/null", cmd);
    KH_CHECK ("a failing command exits with its status and says why on stderr",
              rc == expect && strstr (t->out, needle), "%s: rc %d (expected %d), stderr '%s' "
              "(expected '%s')", cmd, rc, expect, t->out, needle);
}

/* The same as the admin. */
static void
s_check_fails (s_test_t *t, const char *cmd, int expect, const char *needle)
{
    s_check_fails_as (t, "admin", cmd, expect, needle);
}

/* Runs a command that is bad usage: it must exit 1 and say exactly why in one
   line, then "try 'PROGRAM --help'" (PROGRAM: "kreishub" and the command), and
   print nothing on stdout. */
static void
s_check_usage (s_test_t *t, const char *cmd, const char *program, const char *why)
{
    char expect [1024];
    snprintf (expect, sizeof expect, "%s: %s\ntry '%s --help'\n", program, why, program);
    int rc = s_sh (t, "%s 2>&1", cmd);
    KH_CHECK ("bad usage is one line saying why and a line pointing to --help",
              rc == 1 && streq (t->out, expect), "%s: rc %d, said '%s', expected '%s'", cmd,
              rc, t->out, expect);
}

/* Runs `PROGRAM ping` (PROGRAM: the program with its environment and global options)
   and checks that it shows the model's head. Returns ping's exit status. */
static int
s_ping (s_test_t *t, const char *what, const char *program)
{
    int rc = s_sh (t, "%s ping -t 5000", program);
    char expect [64];
    snprintf (expect, sizeof expect, "head %d recorder up\n", t->head);
    KH_CHECK ("ping exits 0 and shows the head", rc == 0 && streq (t->out, expect),
              "%s: rc %d '%s', expected '%s'", what, rc, t->out, expect);
    return rc;
}

static void
test_usage_errors (s_test_t *t)
{
    char long_title [300];
    memset (long_title, 'x', 201);
    long_title [201] = 0;
    char cmd [512];
    static const char *const usage [][3] = {  /* command, program, why */
        { "kreishub log --bogus", "kreishub log", "unknown option '--bogus'" },
        { "kreishub subscribe --bogus", "kreishub subscribe",
          "unknown option '--bogus'" },
        { "kreishub ping --bogus", "kreishub ping", "unknown option '--bogus'" },
        { "kreishub --bogus", "kreishub", "unknown option '--bogus'" },
        { "kreishub", "kreishub",
          "which command? up, publish, subscribe, items, show, respond, status, revise, "
          "withdraw, comment, log, stats, ping, keygen, demo, web-user" },
        { "kreishub frobnicate", "kreishub", "unknown command 'frobnicate' "
          "(commands: up, publish, subscribe, items, show, respond, status, revise, "
          "withdraw, comment, log, stats, ping, keygen, demo, web-user)" },
        { "kreishub subscirbe", "kreishub",
          "unknown command 'subscirbe'; did you mean subscribe?" },
        { "kreishub log --limt 3", "kreishub log",
          "unknown option '--limt'; did you mean --limit?" },
        { "kreishub log --limit", "kreishub log", "option --limit needs a value (N)" },
        { "kreishub log --limit 1 -n 2", "kreishub log",
          "--limit given twice ('1', then '2'); give it once" },
        { "kreishub -e tcp://127.0.0.1:1 log -e tcp://127.0.0.1:2", "kreishub log",
          "--endpoint given twice ('tcp://127.0.0.1:1', then 'tcp://127.0.0.1:2' "
          "after the command); give it once" },
        { "kreishub log --format xml", "kreishub log",
          "--format is table, json or csv, not 'xml'" },
        { "kreishub log --type ida", "kreishub log",
          "--type: 'ida' is not a message type; did you mean idea?" },
        { "kreishub log --from 051620241", "kreishub log", "--from: '051620241' "
          "is not an AGS (8 or 5 digits) nor a region prefix (0516, 05162*)" },
        { "kreishub subscribe --from Nuess", "kreishub subscribe", "--from: "
          "'Nuess' is not a name of the Kreis' members; did you mean Neuss "
          "(05162024)?" },
        { "kreishub log --from Ko --from K", "kreishub log", "--from: 'K' "
          "begins 2 names: Kaarst (05162016) or Korschenbroich (05162020); give "
          "more of it" },
        { "kreishub log --audit --type idea", "kreishub log",
          "--type, --search, --item, --follow and --stored are for the log, not the "
          "audit" },
        { "kreishub log --columns seq", "kreishub log", "--columns chooses the "
          "columns of csv and json; give --format csv or --format json" },
        { "kreishub log --format json --excel", "kreishub log",
          "--excel is a kind of csv, not of json" },
        { "kreishub log -f csv --columns seq,titel", "kreishub log",
          "--columns: 'titel' is not a column; did you mean title?" },
        { "kreishub log --audit --code SENDR", "kreishub log",
          "--code: 'SENDR' is no error; did you mean SENDER?" },
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage [0]; i++)
        s_check_usage (t, usage [i][0], usage [i][1], usage [i][2]);
    s_check_fails (t, "kreishub publish idea --from 05162012", 1, "title: required");
    s_check_fails (t, "kreishub publish idea --from 05162012 --title ''", 1, "RANGE");
    snprintf (cmd, sizeof cmd, "kreishub publish idea --from 05162012 --title %s", long_title);
    s_check_fails (t, cmd, 1, "RANGE");
    s_check_fails (t, "kreishub publish memo --title x --from 05162012", 1,
                   "'memo' is not a message type");
    s_check_fails (t, "kreishub publish idea --title x --from 1234", 1, "VALUE");
    /* a certificate names the sender; without one (plain mode) nobody does */
    s_check_fails (t, "kreishub --plain publish idea --title x", 1, "--from");
    s_check_fails (t, "kreishub publish idea --title x --from 05162012 --colour red", 1, "colour");
    s_check_fails (t, "kreishub publish idea --title x --from 05162012 --hf 9", 1, "RANGE");
    s_check_fails (t, "echo '{\"hf\": \"zwei\"}' | kreishub publish idea --json - --title x "
                   "--from 05162012", 1, "WRONG_TYPE");
    s_check_fails (t, "kreishub publish idea --json /nonexistent/x.json --from 05162012", 1,
                   "cannot read /nonexistent/x.json");
    s_check_fails (t, "kreishub publish idea --title x --from 05162012 --id nonsense", 1,
                   "not a UUID");
    s_check_fails (t, "kreishub publish idea --title x --from 05162012 "
                   "--id 3f2a9c4e-8b1d-4e6f-9a2b-1c3d4e5f6a7b", 1, "give --ts too");
    s_check_fails (t, "kreishub log --type memo", 1, "'memo' is not a message type");
    s_check_fails (t, "kreishub log --since yesterday", 1, "neither a seq nor a time");
    s_check_fails (t, "kreishub log --until 2021-02-30", 1, "neither a seq nor a time");
    s_check_fails (t, "kreishub subscribe --type memo", 1, "'memo' is not a message type");
    s_check_fails (t, "kreishub up --sync sometimes", 1, "--sync is full, normal or off");
    s_check_fails (t, "kreishub -c /nonexistent/kreishub.cfg ping", 1, "cannot read config");
    s_ping (t, "nothing invalid was stored", "kreishub");
}

/* The item id of the request test_items publishes (an id of this form is what the
   CLI prints and reads). */
#define S_ITEM "017ce42a-3800-7001-8000-0000000000d1"

/* Publishes a request and an announcement, and a message of each type about the
   request, by --ref with the id it was published under; checks that the log shows
   the ref in the same form, and what the CLI refuses before the hub sees it. */
static void
test_items (s_test_t *t)
{
    s_publish_flags (t, "request", "05162012", "Gemeinsame Datenschutzbeauftragte",
                     "--id " S_ITEM " --hf 4 --valid-until 2030-12-31 --maturity concept");
    s_publish_flags (t, "announcement", "05162", "Fortbildung: E-Akte",
                     "--start 2022-05-10 --place 'Kreishaus Grevenbroich'");
    s_publish (t, "interest", "05162016", "", "kreishub publish interest --from 05162016 "
               "--ref " S_ITEM " --action join --text 'Kaarst macht mit'");
    s_shown (t, "joined: Kaarst macht mit");
    s_publish (t, "status", "05162012", "", "kreishub publish status --from 05162012 "
               "--ref " S_ITEM " --status discussion");
    s_shown (t, "status: discussion");
    s_publish (t, "revise", "05162012", "", "kreishub publish revise --from 05162012 "
               "--ref " S_ITEM " --fields.title 'Gemeinsamer DSB' --fields.hf 4 "
               "--fields.keywords Datenschutz,DSB");
    s_shown (t, "revised title, hf, keywords");
    char path [512], cmd [1024];
    snprintf (path, sizeof path, "%s/comment.json", t->hub.dir);
    s_write_file (path, "{\"ref\": \"" S_ITEM "\", \"text\": \"Neuss pr\\u00fcft.\\nBis "
                        "M\xc3\xa4rz.\"}");
    snprintf (cmd, sizeof cmd, "kreishub publish comment --json '%s' --from 05162024", path);
    s_publish (t, "comment", "05162024", "", cmd);
    s_shown (t, "comment: Neuss pr\xc3\xbc" "ft. Bis M\xc3\xa4rz.");
    int rc = s_sh (t, "kreishub log --type revise --format json");
    KH_CHECK ("a ref is shown in the form it was given; a revise's fields as a map",
              rc == 0 && strstr (t->out, "\"body\":{\"ref\":\"" S_ITEM "\",\"fields\":"
                                         "{\"title\":\"Gemeinsamer DSB\",\"hf\":4,"
                                         "\"keywords\":[\"Datenschutz\",\"DSB\"]}}"),
              "rc %d '%s'", rc, t->out);
    rc = s_sh (t, "kreishub log --type comment --format json");
    KH_CHECK ("a comment keeps its line break", rc == 0
              && strstr (t->out, "\"text\":\"Neuss pr\xc3\xbc" "ft.\\u000aBis M\xc3\xa4rz.\""),
              "rc %d '%s'", rc, t->out);
    /* a file saved on Windows, and a text given with CRLF: the hub gets LF */
    snprintf (path, sizeof path, "%s/windows.json", t->hub.dir);
    s_write_file (path, "{\r\n  \"title\": \"Aus Windows\",\r\n  \"description\": "
                        "\"Zeile 1\\r\\nZeile 2\"\r\n}\r\n");
    snprintf (cmd, sizeof cmd, "kreishub publish idea --json '%s' --from 05162028", path);
    s_publish (t, "idea", "05162028", "Aus Windows", cmd);
    s_publish (t, "comment", "05162028", "", "kreishub publish comment --from 05162028 "
               "--ref " S_ITEM " --text \"$(printf 'Zeile A\\r\\nZeile B')\"");
    s_shown (t, "comment: Zeile A Zeile B");
    rc = s_sh (t, "kreishub log --from Rommerskirchen --format csv --columns type,body.text,"
               "body.description");
    KH_CHECK ("texts given with CRLF are stored with LF", rc == 0
              && strstr (t->out, "idea,,\"Zeile 1\nZeile 2\"\n")
              && strstr (t->out, "comment,\"Zeile A\nZeile B\",\n")
              && !strchr (t->out, '\r'), "rc %d '%s'", rc, t->out);
    s_check_fails_as (t, "05162028", "kreishub publish comment --from 05162028 --ref "
                      S_ITEM " --text \"$(printf 'a\\rb')\"", 1, "control character U+000D");
    s_publish (t, "idea", "05162022", "Namentlich", "kreishub publish idea --title Namentlich "
               "--from meerb");
    s_check_fails_as (t, "05162022", "kreishub publish idea --title x --from Mersbusch", 1,
                      "--from: 'Mersbusch' is not a name of the Kreis' members; did you mean "
                      "Meerbusch (05162022)?");
    s_check_fails_as (t, "05162022", "kreishub publish idea --title x --from '0516*'", 1,
                      "a message has one sender, an AGS or a name, not the region '0516*'");
    s_check_fails_as (t, "05162004", "kreishub publish ide --title Kurs --from 05162004", 1,
                      "kreishub publish: 'ide' is not a message type; did you mean idea?");
    rc = s_sh (t, "kreishub publish --help");
    KH_CHECK ("publish --help lists the fields of each type, from the schema", rc == 0
              && strstr (t->out, "\n  comment: ref*, text*\n")
              && strstr (t->out, "\n  offer: title*, description,"), "rc %d '%s'", rc, t->out);
    s_check_fails_as (t, "05162004", "kreishub publish idea --titel Kurs --from 05162004", 1,
                      "UNKNOWN_FIELD: titel: not a field of idea; did you mean --title?");
    s_check_fails_as (t, "05162004", "kreishub publish idea --title Kurs --from 05162004 "
                      "--valid-untl 2030-01-01", 1, "did you mean --valid-until?");
    s_check_fails_as (t, "05162012", "kreishub publish revise --from 05162012 --ref "
                      S_ITEM " --fields.titel x", 1, "did you mean --fields.title?");
    s_check_fails_as (t, "05162004", "kreishub publish idea --title A --title B "
                      "--from 05162004", 1, "--title given twice ('A', then 'B'); give it "
                      "once\ntry 'kreishub publish --help'\n");
    s_check_fails_as (t, "05162004", "kreishub publish announcement --title Kurs "
                      "--from 05162004", 1, "FORBIDDEN: from: 05162004 is not a Kreis");
    s_check_fails_as (t, "05162016", "kreishub publish interest --from 05162016 --ref 12 "
                      "--action join", 1, "WRONG_TYPE: ref: '12' is not an id");
    s_check_fails_as (t, "05162016", "kreishub publish interest --from 05162016 --ref "
                      S_ITEM " --action joined", 1, "'joined' is not one of interested, join");
    s_check_fails_as (t, "05162012", "kreishub publish revise --from 05162012 --ref "
                      S_ITEM, 1, "MISSING: body.fields");
    s_check_fails_as (t, "05162012", "kreishub publish revise --from 05162012 --ref "
                      S_ITEM " --fields.colour red", 1, "fields.colour: not a field of an item");
    s_check_fails_as (t, "05162012", "kreishub publish idea --from 05162012 "
                      "--title \"$(printf 'eins\\tzwei')\"", 1, "VALUE: body.title: control "
                      "character U+0009");
}

/* A publish that gets no answer (the recorder hangs: SIGSTOP) exits 3 and names its
   id; retried with that id once the recorder goes on, it is stored once. */
static void
s_check_retry (s_test_t *t)
{
    kill (t->hub.recorder_pid, SIGSTOP);
    const char *publish = "kreishub publish idea --title 'Gemeinsame Cloud' --from 05162020 "
                          "-t 500 -r 0";
    s_check_fails_as (t, "05162020", publish, 3, "connected to the hub at tcp://127.0.0.1:");
    KH_CHECK ("a hub that is reached but does not answer is told apart",
              strstr (t->out, ", but no answer in time\n"), "stderr '%s'", t->out);
    kill (t->hub.recorder_pid, SIGCONT);
    const char *named = strstr (t->out, "retry with --id ");
    char id [KH_ID_STR_SIZE] = "", retry [512], expect [64];
    if (named)
        sscanf (named, "retry with --id %36s", id);
    uint8_t bytes [KH_ID_SIZE];
    KH_CHECK ("a publish without an answer names its id", kh_id_parse (id, bytes) == 0,
              "stderr '%s'", t->out);
    snprintf (retry, sizeof retry, "%s --id %s", publish, id);
    int rc = s_sh_as (t, "05162020", "%s", retry);
    snprintf (expect, sizeof expect, "seq %d (duplicate)\n", t->head + 1);
    KH_CHECK ("a retry with the named id finds the message stored once", rc == 0
              && streq (t->out, expect), "rc %d '%s', expected '%s'", rc, t->out, expect);
    if (rc == 0 && streq (t->out, expect)) {
        s_msg_t *msg = &t->msgs [t->head++];
        snprintf (msg->type, sizeof msg->type, "idea");
        snprintf (msg->from, sizeof msg->from, "05162020");
        snprintf (msg->title, sizeof msg->title, "Gemeinsame Cloud");
        snprintf (msg->shown, sizeof msg->shown, "Gemeinsame Cloud");
    }
}

/* With the recorder stopped, ping, log and publish exit 3 and nothing is stored;
   once it is back, ping exits 0 again. */
static void
s_check_recorder_down (s_test_t *t)
{
    int status = kh_hub_stop_recorder (&t->hub, SIGTERM);
    KH_CHECK ("the recorder stops on SIGTERM", WIFEXITED (status) && WEXITSTATUS (status) == 0,
              "status 0x%x", status);
    /* the broker notices at a failed send (the query asked here) or after its
       recorder TTL; ping tells when it has */
    int rc = -1;
    for (int64_t end = zclock_mono () + 20000; rc != 3 && zclock_mono () < end; ) {
        s_sh (t, "kreishub log -t 1000 >/dev/null 2>&1");
        rc = s_sh (t, "kreishub ping -t 2000 2>/dev/null");
    }
    char expect [64];
    snprintf (expect, sizeof expect, "head %d recorder down\n", t->head);
    KH_CHECK ("ping exits 3 when the recorder is down", rc == 3 && streq (t->out, expect),
              "rc %d '%s', expected '%s'", rc, t->out, expect);
    s_check_fails (t, "kreishub log -t 2000", 3, "UNAVAILABLE");
    s_check_fails_as (t, "05162020", "kreishub publish idea --title 'Nie gespeichert' "
                      "--from 05162020 -t 2000 -r 0", 3, "UNAVAILABLE");

    rc = kh_hub_start_recorder (&t->hub);
    KH_CHECK ("the recorder starts again and links", rc == 0
              && kh_hub_await_link (&t->hub, 20000) == 0, "see %s", t->hub.dir);
    s_ping (t, "after the recorder came back, with nothing stored while it was down",
            "kreishub");
}

/* Waits up to ms until the file at path holds needle. Returns true if it does. */
static bool
s_await_in_file (const char *path, const char *needle, int ms)
{
    for (int64_t end = zclock_mono () + ms; zclock_mono () < end; zclock_sleep (20))
        if (s_count_in_file (path, needle) > 0)
            return true;
    return false;
}

/* A live subscriber says when the hub goes away and when it is back, and gets what
   is published after; one that cannot reach the hub says so. */
static void
s_check_hub_away (s_test_t *t)
{
    char out [512], err [512], cmd [1024];
    snprintf (out, sizeof out, "%s/away.out", t->hub.dir);
    snprintf (err, sizeof err, "%s/away.err", t->hub.dir);
    int base [3];
    s_subscription_base (t, base);
    pid_t pid = s_background (t, out, err, "kreishub subscribe --count 1 --json -t 60000");
    bool ready = s_await_subscriptions (t, base, (const int [3]) { 1, 1, 1 }, 20000);
    int status = kh_hub_stop_broker (&t->hub, SIGTERM);
    KH_CHECK ("a live subscriber says when the hub goes away", ready && status == 0
              && s_await_in_file (err, "kreishub subscribe: the hub at tcp://127.0.0.1:", 10000)
              && s_await_in_file (err, " went away; waiting for it to come back", 100),
              "ready %d status 0x%x, see %s", ready, status, err);
    int rc = kh_hub_start_broker (&t->hub) == 0 && kh_hub_await_link (&t->hub, 20000) == 0
             ? 0 : -1;
    KH_CHECK ("the broker starts again on its endpoints", rc == 0, "see %s", t->hub.dir);
    KH_CHECK ("and the subscriber says that the hub is back",
              s_await_in_file (err, " is back", 20000), "see %s", err);
    s_publish_flags (t, "idea", "05162022", "Nach dem Neustart", "");
    rc = s_wait_exit (pid, 20000);
    kh_hub_slurp (out, t->out, sizeof t->out);
    KH_CHECK ("and it gets what is published after", rc == 0, "rc %d", rc);
    s_check_json_lines (t, "subscribe across a broker restart", t->out, &t->head, 1);
    snprintf (cmd, sizeof cmd, "kreishub subscribe -e %s -l %s -t 1500", t->dead, t->dead);
    s_check_fails (t, cmd, 0, "cannot reach the hub at tcp://127.0.0.1:");
}

/* A hub that is not there, a recorder that hangs, a recorder that is down: exit 3,
   saying which; a hub that refuses the connection. */
static void
test_unreachable (s_test_t *t)
{
    char cmd [512];
    snprintf (cmd, sizeof cmd, "kreishub -e %s publish idea --title x --from 05162012 -t 300 "
              "-r 0", t->dead);
    s_check_fails (t, cmd, 3, "no connection to the hub at tcp://127.0.0.1:");
    s_check_fails_as (t, "05162012", "kreishub --plain publish idea --title x --from 05162012 "
                      "-t 1000 -r 0", 3, "refused the connection: it does not admit this "
                      "certificate");
    snprintf (cmd, sizeof cmd, "kreishub log -e %s -t 300", t->dead);
    s_check_fails (t, cmd, 3, t->dead);
    snprintf (cmd, sizeof cmd, "kreishub ping --endpoint %s -t 300", t->dead);
    s_check_fails (t, cmd, 3, t->dead);
    s_check_retry (t);
    s_check_recorder_down (t);
    s_check_hub_away (t);
}

/* ---------------------------------------------------------------- help */

static void
test_help (s_test_t *t)
{
    static const char *const commands [] = { "", "up", "publish", "subscribe", "log", "ping",
                                             "keygen" };
    for (size_t i = 0; i < sizeof commands / sizeof commands [0]; i++) {
        char expect [64];
        snprintf (expect, sizeof expect, "usage: kreishub %s", commands [i]);
        int rc = s_sh (t, "kreishub %s --help 2>/dev/null", commands [i]);
        KH_CHECK ("--help prints the usage on stdout and exits 0",
                  rc == 0 && strncmp (t->out, expect, strlen (expect)) == 0
                  && kh_hub_lines (t->out) > 3, "'%s': rc %d '%.80s'", commands [i], rc, t->out);
        rc = s_sh (t, "kreishub %s -h 2>&1 >/dev/null", commands [i]);
        KH_CHECK ("-h prints nothing on stderr", rc == 0 && !*t->out, "'%s': rc %d '%s'",
                  commands [i], rc, t->out);
    }
    static const char *const programs [] = { "kreishub", "kreishub-broker",
                                             "kreishub-recorder", "kreishub-bench",
                                             "kreishub-schema", "kreishub-vectors",
                                             "kreishub-fuzz" };
    for (size_t i = 0; i < sizeof programs / sizeof programs [0]; i++) {
        char expect [64];
        snprintf (expect, sizeof expect, "%s %s\n", programs [i], getenv ("KH_VERSION"));
        int rc = s_sh (t, "%s --version", programs [i]);
        KH_CHECK ("every program answers --version with the project's version",
                  rc == 0 && streq (t->out, expect), "'%s': rc %d '%s', expected '%s'",
                  programs [i], rc, t->out, expect);
    }
}

/* ----------------------------------------------------------- endpoints */

/* Runs a live subscriber with args (endpoints), publishes with pub_args, and checks
   the subscriber saw that record: proves both endpoints came from where args say. */
static void
s_check_live_via (s_test_t *t, const char *what, const char *args, const char *pub_args,
                  const char *from)
{
    char out [512], err [512], cmd [1024];
    snprintf (out, sizeof out, "%s/via.out", t->hub.dir);
    snprintf (err, sizeof err, "%s/via.err", t->hub.dir);
    snprintf (cmd, sizeof cmd, "%s subscribe --count 1 --json -t 20000", args);
    int base [3];
    s_subscription_base (t, base);
    pid_t pid = s_background (t, out, err, cmd);
    KH_CHECK ("a live subscriber reaches the broker's live endpoint",
              s_await_subscriptions (t, base, (const int [3]) { 1, 1, 1 }, 20000),
              "%s: no subscription seen", what);
    char title [128], quoted [160], publish [1024];
    snprintf (title, sizeof title, "Endpunkt aus %s", what);
    s_quote (title, quoted, sizeof quoted);
    snprintf (publish, sizeof publish, "%s publish idea --title %s %s", pub_args, quoted,
              from ? "" : "--from 05162012");
    s_publish (t, "idea", from ? from : "05162012", title, publish);
    int rc = s_wait_exit (pid, 20000);
    kh_hub_slurp (out, t->out, sizeof t->out);
    KH_CHECK ("the live subscriber got the record and exited 0", rc == 0, "%s: rc %d", what, rc);
    int seq = t->head;
    s_check_json_lines (t, what, t->out, &seq, 1);
}

static void
test_endpoints (s_test_t *t)
{
    char flags [512], dead_env [512], cfg [512], text [2048], args [2048];
    snprintf (flags, sizeof flags, "-e %s --live %s", t->hub.client, t->hub.live);
    snprintf (dead_env, sizeof dead_env, "env KREISHUB_ENDPOINT=%s KREISHUB_LIVE=%s", t->dead,
              t->dead);
    snprintf (cfg, sizeof cfg, "%s/kreishub.cfg", t->hub.dir);
    char kreis [400];
    snprintf (kreis, sizeof kreis, "%s", kh_hub_cert (&t->hub, "05162"));
    snprintf (text, sizeof text, "#   written by it_cli\nclient\n    endpoint = %s\n"
              "    live = %s\n    from = 05162\n    cert = \"%s\"\n    server_cert = \"%s\"\n",
              t->hub.client, t->hub.live, kreis, t->hub.server_cert);
    s_write_file (cfg, text);

    /* flags beat the environment (here dead), before or after the command */
    snprintf (args, sizeof args, "%s kreishub %s", dead_env, flags);
    s_ping (t, "flags before the command", args);
    snprintf (args, sizeof args, "%s kreishub", dead_env);
    char after [4096];
    snprintf (after, sizeof after, "%s ping %s -t 5000", args, flags);
    int rc = s_sh (t, "%s", after);
    KH_CHECK ("flags after the command work too", rc == 0, "rc %d '%s'", rc, t->out);
    snprintf (args, sizeof args, "%s kreishub %s", dead_env, flags);
    s_check_live_via (t, "flags", args, args, NULL);

    /* the environment (the harness sets it for every command) */
    s_check_live_via (t, "environment", "kreishub", "kreishub", NULL);

    /* a config file, by -c and by KREISHUB_CONFIG; it also gives the sender and the
       certificates, the Kreis' */
    snprintf (args, sizeof args, "env -u KREISHUB_ENDPOINT -u KREISHUB_LIVE -u KREISHUB_CERT "
              "-u KREISHUB_SERVER_CERT kreishub -c %s", cfg);
    s_ping (t, "config file by -c", args);
    s_check_live_via (t, "config file", args, args, "05162");
    snprintf (args, sizeof args, "env -u KREISHUB_ENDPOINT -u KREISHUB_LIVE -u KREISHUB_CERT "
              "-u KREISHUB_SERVER_CERT KREISHUB_CONFIG=%s kreishub", cfg);
    s_ping (t, "config file by KREISHUB_CONFIG", args);
    /* the environment beats the config file */
    snprintf (after, sizeof after, "%s kreishub -c %s ping -t 300", dead_env, cfg);
    s_check_fails (t, after, 3, t->dead);
}

/* The whole log, at the end: every message once, as published. */
static void
test_whole_log (s_test_t *t)
{
    s_learn_times (t);
    s_check_log (t, "", &(s_filter_t) { 0 });
}

int
main (void)
{
    unsetenv ("KREISHUB_FROM");         /* the runner's own settings must not leak in */
    unsetenv ("KREISHUB_CONFIG");
    s_test_t *t = (s_test_t *) calloc (1, sizeof *t);
    const char *const broker_args [] = { "--verbose", NULL };
    if (!t || kh_hub_start (&t->hub, broker_args, NULL)) {
        printf ("FAIL hub starts\n");
        free (t);
        return 1;
    }
    s_dead_endpoint (t);
    int64_t start = zclock_mono ();
    static const struct {
        const char *name;
        void (*run) (s_test_t *t);
    } tests [] = {
        { "publish", test_publish }, { "items", test_items },
        { "subscribe", test_subscribe }, { "log", test_log },
        { "usage errors", test_usage_errors }, { "help", test_help },
        { "endpoints", test_endpoints }, { "unreachable", test_unreachable },
        { "whole log", test_whole_log },
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests [0]; i++) {
        int64_t begun = zclock_mono ();
        tests [i].run (t);
        printf ("it_cli: %-12s %5.2f s\n", tests [i].name,
                (double) (zclock_mono () - begun) / 1000.0);
        KH_CHECK ("the first publish reaches the hub", t->head > 0, "stopping after %s",
                  tests [i].name);
        if (t->head == 0)
            break;
    }
    printf ("it_cli: %.1f s\n", (double) (zclock_mono () - start) / 1000.0);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see logs in %s", t->hub.dir);
    free (t);
    return kh_check_done ("it_cli");
}
