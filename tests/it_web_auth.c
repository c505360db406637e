/*  it_web_auth.c - signing in to the web node and acting through it against a real,
    secure hub: `kreishub web-user` writes the users file; the web server's forms
    (in this process, as kreishub-web runs them) publish with the certificate of the
    signed-in user's AGS, so that the broker's rules (NOT_OWNER, TRANSITION) and its
    audit apply; a user whose AGS has no certificate is told so; a message published
    through the CLI reaches an open item stream (/live?item=ID) within 1 s. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <czmq.h>
#include "kh_harness.h"
#include "kh_web_forms.h"
#include "kh_web_live.h"
#include "kh_web_pages.h"

#define S_OUT_MAX   (64 * 1024)
#define S_DORMAGEN  "05162004"
#define S_KAARST    "05162016"

typedef struct {
    kh_hub_t  hub;
    char      out [S_OUT_MAX];          /* what the last command printed (2>&1) */
    char      users [300];              /* DIR/web-users */
    uint16_t  port;                     /* the web server's */
    char      page [S_OUT_MAX];         /* the last HTTP answer */
    unsigned  status;
} s_test_t;

/* Runs the shell command cmd (kreishub on PATH) as the admin. Returns its status. */
static int
s_run (s_test_t *t, const char *cmd)
{
    return kh_hub_run (&t->hub, t->out, sizeof t->out, "%s 2>&1", cmd);
}

/* Connects to the web server. Returns the socket, or -1. */
static int
s_connect (s_test_t *t)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (t->port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd >= 0 && connect (fd, (struct sockaddr *) &sa, sizeof sa)) {
        close (fd);
        fd = -1;
    }
    return fd;
}

/* Sends method path with the cookie and form (each may be NULL) as HTTP/1.0 on a
   new connection. Returns the socket, or -1. */
static int
s_send (s_test_t *t, const char *method, const char *path, const char *cookie,
        const char *form)
{
    char request [4096];
    int n = snprintf (request, sizeof request, "%s %s HTTP/1.0\r\nHost: x\r\n%s%s%s", method,
                      path, cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
    if (form)
        n += snprintf (request + n, sizeof request - (size_t) n, "Content-Type: application/"
                       "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s",
                       strlen (form), form);
    else
        n += snprintf (request + n, sizeof request - (size_t) n, "\r\n");
    int fd = s_connect (t);
    if (fd >= 0 && send (fd, request, (size_t) n, MSG_NOSIGNAL) != n) {
        close (fd);
        fd = -1;
    }
    return fd;
}

/* A whole request and answer into t->page and t->status. */
static void
s_http (s_test_t *t, const char *method, const char *path, const char *cookie,
        const char *form)
{
    int fd = s_send (t, method, path, cookie, form);
    size_t got = 0;
    for (ssize_t r; fd >= 0 && got + 1 < sizeof t->page
                    && (r = recv (fd, t->page + got, sizeof t->page - 1 - got, 0)) > 0; )
        got += (size_t) r;
    if (fd >= 0)
        close (fd);
    t->page [got] = 0;
    t->status = got > 12 ? (unsigned) atoi (t->page + 9) : 0;
}

/* Copies what follows marker in text up to a stop character into out. */
static char *
s_after (const char *text, const char *marker, const char *stop, char *out, size_t cap)
{
    const char *at = strstr (text, marker);
    size_t len = at ? strcspn (at + strlen (marker), stop) : 0;
    snprintf (out, cap, "%.*s", (int) (len < cap ? len : cap - 1), at ? at + strlen (marker)
                                                                       : "");
    return out;
}

/* Signs name in (password "geheim-123"): cookie gets the Cookie header, csrf the
   session's token. Returns the status of the POST. */
static unsigned
s_sign_in (s_test_t *t, const char *name, char cookie [120], char csrf [80])
{
    char pre [100], token [80], form [256], session [100];
    s_http (t, "GET", "/login", NULL, NULL);
    s_after (t->page, "Set-Cookie: ", ";", pre, sizeof pre);
    s_after (t->page, "name=\"csrf\" value=\"", "\"", token, sizeof token);
    snprintf (form, sizeof form, "csrf=%s&name=%s&password=geheim-123", token, name);
    s_http (t, "POST", "/login", pre, form);
    unsigned status = t->status;
    s_after (t->page, "Set-Cookie: kh_session=", ";", session, sizeof session);
    snprintf (cookie, 120, "kh_session=%s", session);
    s_http (t, "GET", "/logout", cookie, NULL);
    s_after (t->page, "name=\"csrf\" value=\"", "\"", csrf, 80);
    return status;
}

static void
test_web_user (s_test_t *t)
{
    char cmd [1024], text [4096];
    snprintf (t->users, sizeof t->users, "%s/web-users", t->hub.dir);
    snprintf (cmd, sizeof cmd, "printf 'geheim-123\\n' > %s/pw", t->hub.dir);
    s_run (t, cmd);
    snprintf (cmd, sizeof cmd, "kreishub web-user add dormagen --ags " S_DORMAGEN
              " --users %s --password-file %s/pw", t->users, t->hub.dir);
    int rc = s_run (t, cmd);
    struct stat st;
    KH_CHECK ("web-user add writes the users file, mode 0600", rc == 0
              && stat (t->users, &st) == 0 && (st.st_mode & 0777) == 0600
              && strstr (t->out, "added dormagen"), "rc %d '%s'", rc, t->out);
    kh_hub_slurp (t->users, text, sizeof text);
    KH_CHECK ("its line is name:ags:role:argon2id",
              strncmp (text, "dormagen:" S_DORMAGEN ":municipality:$argon2id$", 41) == 0,
              "'%s'", text);
    snprintf (cmd, sizeof cmd, "kreishub web-user add kaarst --ags " S_KAARST " --users %s "
              "--password-file - < %s/pw", t->users, t->hub.dir);
    rc = s_run (t, cmd);
    KH_CHECK ("a password may come from stdin", rc == 0, "rc %d '%s'", rc, t->out);
    snprintf (cmd, sizeof cmd, "kreishub web-user add fremd --ags 05999001 --users %s "
              "--password-file %s/pw", t->users, t->hub.dir);
    rc = s_run (t, cmd);
    KH_CHECK ("an AGS without a certificate is noted", rc == 0
              && strstr (t->out, "05999001.cert_secret is missing"), "rc %d '%s'", rc, t->out);
    snprintf (cmd, sizeof cmd, "kreishub web-user add kaarst --ags " S_KAARST " --users %s "
              "--password-file %s/pw", t->users, t->hub.dir);
    rc = s_run (t, cmd);
    KH_CHECK ("a name twice is refused", rc == 1 && strstr (t->out, "there already"),
              "rc %d '%s'", rc, t->out);
    snprintf (cmd, sizeof cmd, "kreishub web-user add k --ags 05162 --users %s "
              "--password-file %s/pw", t->users, t->hub.dir);
    rc = s_run (t, cmd);
    KH_CHECK ("a municipality with a Kreis' AGS is refused", rc == 1
              && strstr (t->out, "8 digits"), "rc %d '%s'", rc, t->out);
    snprintf (cmd, sizeof cmd, "echo kurz > %s/short", t->hub.dir);
    s_run (t, cmd);
    snprintf (cmd, sizeof cmd, "kreishub web-user add k --ags 05162008 --users %s "
              "--password-file %s/short", t->users, t->hub.dir);
    rc = s_run (t, cmd);
    KH_CHECK ("a short password is refused", rc == 1 && strstr (t->out, "8 to"),
              "rc %d '%s'", rc, t->out);
    snprintf (cmd, sizeof cmd, "sh -c 'for i in 1 2 3 4; do kreishub web-user add p$i --ags "
              "0516200$i --users %s --password-file %s/pw & done; wait'", t->users, t->hub.dir);
    s_run (t, cmd);
    kh_hub_slurp (t->users, text, sizeof text);
    KH_CHECK ("four adds at once keep all four", strstr (text, "\np1:") && strstr (text, "\np2:")
              && strstr (text, "\np3:") && strstr (text, "\np4:"), "'%s'", text);
    snprintf (cmd, sizeof cmd, "kreishub web-user remove p1 --users %s", t->users);
    rc = s_run (t, cmd);
    kh_hub_slurp (t->users, text, sizeof text);
    KH_CHECK ("web-user remove takes one out", rc == 0 && !strstr (text, "\np1:")
              && strstr (text, "\np2:"), "rc %d '%s'", rc, text);
    snprintf (cmd, sizeof cmd, "kreishub web-user list --users %s", t->users);
    rc = s_run (t, cmd);
    KH_CHECK ("web-user list names them with their municipality", rc == 0
              && strstr (t->out, "dormagen") && strstr (t->out, "Dormagen")
              && strstr (t->out, "kaarst") && strstr (t->out, "fremd")
              && !strstr (t->out, "argon2"), "rc %d '%s'", rc, t->out);
}

/* Starts the web server on the hub, as kreishub-web does: the pages, the forms
   over the users file, the live streams. */
static int
s_web_start (s_test_t *t, kh_web_t **web, kh_web_gate_t **gate, kh_web_forms_t **forms,
             kh_web_live_t **live)
{
    char db [300], admin [400];
    kh_problem_t why = { 0 };
    snprintf (db, sizeof db, "%s/kreishub.db", t->hub.dir);
    snprintf (admin, sizeof admin, "%s", kh_hub_cert (&t->hub, "admin"));
    kh_web_config_t config = {
        .address = "127.0.0.1", .db = db, .threads = 2, .client_ep = t->hub.client,
        .live_ep = t->hub.live, .cert = admin, .server_cert = t->hub.server_cert,
        .certs = t->hub.certs, .users = t->users
    };
    kh_web_live_config_t live_config = {
        .client_ep = t->hub.client, .live_ep = t->hub.live, .cert = admin,
        .server_cert = t->hub.server_cert
    };
    *web = kh_web_new (&config, &why);
    *gate = kh_web_gate_new (t->users, false);
    *forms = *gate ? kh_web_forms_new (*gate) : NULL;
    *live = kh_web_live_new (&live_config, &why);
    if (!*web || !*forms || !*live || kh_web_add_routes (*web, kh_web_pages_routes (), NULL)
    ||  kh_web_forms_attach (*forms, *web)
    ||  kh_web_live_attach (*live, *web)) {
        printf ("FAIL the web server starts: %s\n", why.reason);
        return -1;
    }
    t->port = kh_web_port (*web);
    return 0;
}

static void
test_acting (s_test_t *t, char item [KH_ID_STR_SIZE], char item_seq [24])
{
    char dormagen [120], dormagen_csrf [80], kaarst [120], kaarst_csrf [80], form [512];
    unsigned rc = s_sign_in (t, "dormagen", dormagen, dormagen_csrf);
    KH_CHECK ("dormagen signs in", rc == 303 && strlen (dormagen_csrf) == 64, "%u", rc);
    snprintf (form, sizeof form, "csrf=%s&type=offer&title=%%3Cscript%%3Ealert(1)%%3C%%2F"
              "script%%3E&from=" S_KAARST, dormagen_csrf);
    s_http (t, "POST", "/new", dormagen, form);
    s_after (t->page, "gespeichert (#", ")", item_seq, 24);
    KH_CHECK ("an offer published through the web is stored", t->status == 200
              && atoi (item_seq) > 0, "%u %.300s", t->status, t->page);
    char cmd [256];
    snprintf (cmd, sizeof cmd, "kreishub log --type offer --from " S_DORMAGEN);
    s_run (t, cmd);
    KH_CHECK ("kreishub log shows it with the signed-in municipality as sender",
              strstr (t->out, "<script>alert(1)</script>") && strstr (t->out, S_DORMAGEN),
              "'%s'", t->out);
    s_after (t->page, "href=\"/item/", "\"", item, KH_ID_STR_SIZE);
    char path [64];
    snprintf (path, sizeof path, "/item/%s", item);
    s_http (t, "GET", path, dormagen, NULL);
    KH_CHECK ("the answer links to the item's page, which follows it live",
              strlen (item) == 36 && t->status == 200 && strstr (t->page, "/static/live.js")
              && strstr (t->page, "&lt;script&gt;alert(1)"), "'%s' %u", item, t->status);
    s_sign_in (t, "kaarst", kaarst, kaarst_csrf);
    snprintf (form, sizeof form, "csrf=%s&kind=status&value=decided&item=%s", kaarst_csrf,
              item);
    s_http (t, "POST", "/act", kaarst, form);
    KH_CHECK ("another municipality may not change its status: the hub says NOT_OWNER",
              t->status == 403 && strstr (t->page, "NOT_OWNER")
              && strstr (t->page, "Das darf nur, wer den Eintrag"), "%u %.400s", t->status,
              t->page);
    s_run (t, "kreishub log --audit");
    KH_CHECK ("and the hub audits the refusal, with the sender's certificate",
              strstr (t->out, "NOT_OWNER") && strstr (t->out, S_KAARST), "'%s'", t->out);
    snprintf (form, sizeof form, "csrf=%s&kind=status&value=decided&item=%s", dormagen_csrf,
              item);
    s_http (t, "POST", "/act", dormagen, form);
    KH_CHECK ("its owner decides it", t->status == 200, "%u %.300s", t->status, t->page);
    snprintf (form, sizeof form, "csrf=%s&kind=status&value=discussion&item=%s",
              dormagen_csrf, item);
    s_http (t, "POST", "/act", dormagen, form);
    KH_CHECK ("going back is a TRANSITION, told in German", t->status == 409
              && strstr (t->page, "TRANSITION") && strstr (t->page, "nur vorwärts"),
              "%u %.300s", t->status, t->page);
    snprintf (form, sizeof form, "csrf=%s&kind=respond&value=join&item=%s", kaarst_csrf, item);
    s_http (t, "POST", "/act", kaarst, form);
    KH_CHECK ("kaarst joins it", t->status == 200, "%u %.300s", t->status, t->page);
    char fremd [120], fremd_csrf [80];
    s_sign_in (t, "fremd", fremd, fremd_csrf);
    snprintf (form, sizeof form, "csrf=%s&type=idea&title=Ohne", fremd_csrf);
    s_http (t, "POST", "/new", fremd, form);
    KH_CHECK ("a user whose AGS has no certificate is told so", t->status == 403
              && strstr (t->page, "kein passendes Zertifikat"), "%u %.300s", t->status,
              t->page);
}

/* Reads from fd until text holds want or timeout_ms pass. Returns true if it did. */
static bool
s_await (int fd, char *text, size_t cap, const char *want, int timeout_ms)
{
    size_t got = strlen (text);
    int64_t until = zclock_mono () + timeout_ms;
    while (!strstr (text, want) && zclock_mono () < until) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll (&p, 1, (int) (until - zclock_mono ())) <= 0)
            break;
        ssize_t r = recv (fd, text + got, cap - 1 - got, 0);
        if (r <= 0)
            break;
        got += (size_t) r;
        text [got] = 0;
    }
    return strstr (text, want) != NULL;
}

static void
test_live (s_test_t *t, const char *item, const char *item_seq)
{
    char cookie [120], csrf [80], path [128], cmd [256];
    static char stream [16384];
    s_sign_in (t, "dormagen", cookie, csrf);
    snprintf (path, sizeof path, "/live?item=%s", item);
    int fd = s_send (t, "GET", path, cookie, NULL);
    stream [0] = 0;
    KH_CHECK ("an item's stream opens", fd >= 0 && s_await (fd, stream, sizeof stream,
              "retry: ", 2000) && strstr (stream, "text/event-stream"), "'%s'", stream);
    snprintf (cmd, sizeof cmd, "kreishub comment %s --text live --from " S_KAARST, item_seq);
    int64_t start = zclock_mono ();
    int rc = kh_hub_run_as (&t->hub, S_KAARST, t->out, sizeof t->out, "%s 2>&1", cmd);
    bool seen = rc == 0 && s_await (fd, stream, sizeof stream, "\"type\":\"comment\"", 1000);
    KH_CHECK ("a message published through the CLI reaches the item's stream within 1 s",
              seen && strstr (stream, item), "rc %d after %d ms: '%s'", rc,
              (int) (zclock_mono () - start), stream);
    if (fd >= 0)
        close (fd);
    char seq [24], entry [48];
    s_after (strstr (stream, "\"type\":\"comment\"") ? stream : "", "\"seq\":", ",", seq,
             sizeof seq);
    snprintf (entry, sizeof entry, "<li data-seq=\"%s\">", seq);
    snprintf (path, sizeof path, "/item/%s", item);
    s_http (t, "GET", path, cookie, NULL);
    KH_CHECK ("the item's page, fetched again as live.js does, holds the new entry",
              *seq && strstr (t->page, entry) && strstr (t->page, "id=\"timeline\""),
              "'%s' %u", entry, t->status);
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
    kh_web_t *web = NULL;
    kh_web_gate_t *gate = NULL;
    kh_web_forms_t *forms = NULL;
    kh_web_live_t *live = NULL;
    char item [KH_ID_STR_SIZE] = "", item_seq [24] = "";
    test_web_user (t);
    if (s_web_start (t, &web, &gate, &forms, &live) == 0) {
        test_acting (t, item, item_seq);
        test_live (t, item, item_seq);
    }
    if (live)
        kh_web_live_stop (live);
    kh_web_destroy (&web);
    kh_web_live_destroy (&live);
    kh_web_forms_destroy (&forms);
    kh_web_gate_destroy (&gate);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&t->hub, s_failed > 0) == 0,
              "see logs in %s", t->hub.dir);
    free (t);
    return kh_check_done ("it_web_auth");
}
