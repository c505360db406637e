/*  kh_web_forms_test.c - signing in and out and acting through a real server and a
    fake hub: the sign-in form's token, wrong passwords, the session cookie, CSRF on
    every POST, the sender taken from the session, the hub's verdict (kh_web_forms.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sodium.h>
#include "kh_check.h"
#include "kh_fake_hub.h"
#include "kh_web_forms.h"
#include "kreishub/kreishub.h"

static char s_dir [64], s_users [128];
static int64_t s_now = 5000000;         /* the sign-in state's clock, ms */
static uint16_t s_port;
static const char *s_forwarded;         /* X-Forwarded-For of the next requests, or NULL */

static int64_t
s_clock (void *arg)
{
    return *(int64_t *) arg;
}

/* An HTTP answer, whole. */
typedef struct {
    char     text [65536];
    unsigned status;
} s_answer_t;

/* Sends method path with cookie (may be NULL) and a form body (may be NULL) and
   reads the answer. */
static void
s_http (const char *method, const char *path, const char *cookie, const char *form,
        s_answer_t *answer)
{
    char request [4096];
    int n = snprintf (request, sizeof request, "%s %s HTTP/1.0\r\nHost: x\r\n%s%s%s", method,
                      path, cookie ? "Cookie: " : "", cookie ? cookie : "", cookie ? "\r\n" : "");
    if (s_forwarded)
        n += snprintf (request + n, sizeof request - (size_t) n, "X-Forwarded-For: %s\r\n",
                       s_forwarded);
    if (form)
        n += snprintf (request + n, sizeof request - (size_t) n, "Content-Type: application/"
                       "x-www-form-urlencoded\r\nContent-Length: %zu\r\n\r\n%s", strlen (form),
                       form);
    else
        n += snprintf (request + n, sizeof request - (size_t) n, "\r\n");
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (s_port) };
    sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    size_t got = 0;
    if (connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0
    &&  send (fd, request, (size_t) n, MSG_NOSIGNAL) == n)
        for (ssize_t r; got + 1 < sizeof answer->text
                        && (r = recv (fd, answer->text + got, sizeof answer->text - 1 - got, 0)) > 0; )
            got += (size_t) r;
    close (fd);
    answer->text [got] = 0;
    answer->status = got > 12 ? (unsigned) atoi (answer->text + 9) : 0;
}

/* Copies what follows marker in text, up to one of the stop characters, into out. */
static const char *
s_after (const char *text, const char *marker, const char *stop, char *out, size_t cap)
{
    const char *at = strstr (text, marker);
    out [0] = 0;
    if (at) {
        at += strlen (marker);
        size_t len = strcspn (at, stop);
        snprintf (out, cap, "%.*s", (int) (len < cap ? len : cap - 1), at);
    }
    return out;
}

/* The last record the fake hub stored: its type and sender. */
typedef struct {
    char type [KH_TYPE_MAX + 1], from [KH_AGS_MAX + 1], id [KH_ID_STR_SIZE];
    uint64_t count;
} s_last_t;

static int
s_note (const kh_record_t *rec, void *arg)
{
    s_last_t *last = (s_last_t *) arg;
    kh_envelope_t env;
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, NULL) == 0) {
        snprintf (last->type, sizeof last->type, "%s", env.type);
        snprintf (last->from, sizeof last->from, "%s", env.from);
        kh_id_format (env.id, last->id);
    }
    last->count++;
    return 0;
}

static s_last_t
s_last (kh_fake_hub_t *hub)
{
    s_last_t last = { .count = 0 };
    kh_client_t *client = kh_client_new (hub->client);
    kh_query_t q = { .since_seq = 1 };
    kh_client_query (client, &q, 0, 2000, s_note, &last);
    kh_client_destroy (&client);
    return last;
}

/* Writes the users file: dormagen (05162004) and admin. */
static void
s_write_users (void)
{
    kh_web_account_t users [2] = {
        { "dormagen", "05162004", KH_ROLE_MUNICIPALITY, "" },
        { "admin", "05162", KH_ROLE_ADMIN, "" }
    };
    const char *passwords [2] = { "geheim-1", "geheim-2" };
    for (int i = 0; i < 2; i++)
        if (crypto_pwhash_str (users [i].hash, passwords [i], strlen (passwords [i]),
                               crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN))
            abort ();
    kh_problem_t why;
    if (kh_web_accounts_write (s_users, users, 2, &why))
        abort ();
}

/* Signs name in with password; fills cookie with the session's Cookie header and
   csrf with its token (from the form for a new item). Returns the POST's status. */
static unsigned
s_sign_in (const char *name, const char *password, char *cookie, char *csrf)
{
    s_answer_t a;
    char pre [80], token [80], form [256];
    s_http ("GET", "/login", NULL, NULL, &a);
    s_after (a.text, "Set-Cookie: ", ";", pre, sizeof pre);
    s_after (a.text, "name=\"csrf\" value=\"", "\"", token, sizeof token);
    snprintf (form, sizeof form, "csrf=%s&name=%s&password=%s", token, name, password);
    s_http ("POST", "/login", pre, form, &a);
    char session [100];
    s_after (a.text, "Set-Cookie: kh_session=", ";", session, sizeof session);
    snprintf (cookie, 120, "kh_session=%s", session);
    s_answer_t page;
    s_http ("GET", "/logout", cookie, NULL, &page);
    s_after (page.text, "name=\"csrf\" value=\"", "\"", csrf, 80);
    return a.status;
}

static void
test_sign_in (void)
{
    s_answer_t a;
    char pre [80], token [80], form [512], location [120];
    s_http ("GET", "/new", NULL, NULL, &a);
    KH_CHECK ("a page without a session goes to the sign-in page", a.status == 303
              && streq (s_after (a.text, "Location: ", "\r", location, sizeof location),
                        "/login?next=%2Fnew"), "%u %s", a.status, location);
    s_http ("GET", "/login", NULL, NULL, &a);
    s_after (a.text, "Set-Cookie: ", ";", pre, sizeof pre);
    s_after (a.text, "name=\"csrf\" value=\"", "\"", token, sizeof token);
    KH_CHECK ("the sign-in form sets a pre-session cookie and carries its token",
              a.status == 200 && strncmp (pre, "kh_pre=", 7) == 0 && strlen (token) == 64
              && strstr (a.text, "HttpOnly; SameSite=Strict"), "%u %s %s", a.status, pre, token);
    snprintf (form, sizeof form, "name=dormagen&password=geheim-1");
    s_http ("POST", "/login", pre, form, &a);
    KH_CHECK ("a sign-in without the form's token is refused", a.status == 403
              && !strstr (a.text, "kh_session="), "%u", a.status);
    snprintf (form, sizeof form, "csrf=%064d&name=dormagen&password=geheim-1", 0);
    s_http ("POST", "/login", pre, form, &a);
    KH_CHECK ("a sign-in with a forged token is refused", a.status == 403
              && !strstr (a.text, "kh_session="), "%u", a.status);
    snprintf (form, sizeof form, "csrf=%s&name=dormagen&password=geheim-1", token);
    s_http ("POST", "/login", NULL, form, &a);
    KH_CHECK ("a token without its cookie is refused", a.status == 403, "%u", a.status);
    snprintf (form, sizeof form, "csrf=%s&name=dormagen&password=falsch", token);
    s_http ("POST", "/login", pre, form, &a);
    char wrong [200], unknown [200];
    s_after (a.text, "class=\"error\">", "<", wrong, sizeof wrong);
    unsigned wrong_status = a.status;
    snprintf (form, sizeof form, "csrf=%s&name=niemand&password=geheim-1", token);
    s_http ("POST", "/login", pre, form, &a);
    s_after (a.text, "class=\"error\">", "<", unknown, sizeof unknown);
    KH_CHECK ("a wrong password and an unknown name get the same answer", wrong_status == 401
              && a.status == 401 && *wrong && streq (wrong, unknown)
              && !strstr (a.text, "kh_session="), "%u %u '%s' '%s'", wrong_status, a.status,
              wrong, unknown);
    snprintf (form, sizeof form, "csrf=%s&name=dormagen&password=geheim-1&next=%%2Fstats", token);
    s_http ("POST", "/login", pre, form, &a);
    char session [120];
    s_after (a.text, "Set-Cookie: kh_session=", "\r", session, sizeof session);
    KH_CHECK ("the right password starts a session (HttpOnly, SameSite=Strict) and goes back",
              a.status == 303 && strlen (session) > 64 && strstr (session, "HttpOnly")
              && strstr (session, "SameSite=Strict") && strstr (a.text, "Location: /stats"),
              "%u '%s'", a.status, session);
    snprintf (form, sizeof form, "csrf=%s&name=dormagen&password=geheim-1&next=//evil.example",
              token);
    s_http ("POST", "/login", pre, form, &a);
    KH_CHECK ("it never goes back to another host", a.status == 303
              && strstr (a.text, "Location: /\r"), "%.200s", a.text);
}

/* Behind a proxy on this machine, failures count against the address it adds. */
static void
test_forwarded (void)
{
    s_answer_t a;
    char pre [80], token [80], form [512];
    s_http ("GET", "/login", NULL, NULL, &a);
    s_after (a.text, "Set-Cookie: ", ";", pre, sizeof pre);
    s_after (a.text, "name=\"csrf\" value=\"", "\"", token, sizeof token);
    s_forwarded = "192.0.2.1, 198.51.100.7";
    for (int i = 0; i < 5; i++) {
        snprintf (form, sizeof form, "csrf=%s&name=rater%d&password=x", token, i);
        s_http ("POST", "/login", pre, form, &a);
    }
    snprintf (form, sizeof form, "csrf=%s&name=dormagen&password=geheim-1", token);
    s_http ("POST", "/login", pre, form, &a);
    KH_CHECK ("an address with 5 failures waits, even with the right password",
              a.status == 429 && strstr (a.text, "Sekunden"), "%u", a.status);
    s_forwarded = "192.0.2.1, 198.51.100.8";
    s_http ("POST", "/login", pre, form, &a);
    KH_CHECK ("behind a local proxy the address is the one it added, not the first",
              a.status == 303, "%u", a.status);
    s_forwarded = NULL;
}

static void
test_acting (kh_fake_hub_t *hub, kh_web_gate_t *gate)
{
    char cookie [120], csrf [80], form [512];
    s_answer_t a;
    s_sign_in ("dormagen", "geheim-1", cookie, csrf);
    uint64_t before, after, differing, queries;
    kh_fake_hub_stats (hub, &before, &differing, &queries);
    s_http ("POST", "/new", cookie, "type=offer&title=Ohne", &a);
    KH_CHECK ("a form without the CSRF token is refused", a.status == 403, "%u", a.status);
    snprintf (form, sizeof form, "csrf=%064d&type=offer&title=Falsch", 0);
    s_http ("POST", "/new", cookie, form, &a);
    KH_CHECK ("a form with a forged CSRF token is refused", a.status == 403, "%u", a.status);
    kh_fake_hub_stats (hub, &after, &differing, &queries);
    KH_CHECK ("and nothing reaches the hub", after == before, "%" PRIu64 " publishes",
              after - before);
    snprintf (form, sizeof form, "csrf=%s&type=offer&title=Zwilling&from=05162008"
              "&ags=05162008&description=a%%0D%%0Ab", csrf);
    s_http ("POST", "/new", cookie, form, &a);
    s_last_t last = s_last (hub);
    KH_CHECK ("an offer is published as the session's AGS, whatever the form says",
              a.status == 200 && strstr (a.text, "gespeichert") && streq (last.type, "offer")
              && streq (last.from, "05162004"), "%u %s %s", a.status, last.type, last.from);
    char item [KH_ID_STR_SIZE];
    snprintf (item, sizeof item, "%s", last.id);
    snprintf (form, sizeof form, "csrf=%s&kind=status&value=decided&item=%s", csrf, item);
    s_http ("POST", "/act", cookie, form, &a);
    last = s_last (hub);
    KH_CHECK ("a status change is published about the item", a.status == 200
              && streq (last.type, "status") && streq (last.from, "05162004"), "%u %s",
              a.status, last.type);
    snprintf (form, sizeof form, "csrf=%s&kind=respond&value=join&item=%s", csrf, item);
    s_http ("POST", "/act", cookie, form, &a);
    last = s_last (hub);
    KH_CHECK ("so is an answer", a.status == 200 && streq (last.type, "interest"), "%u %s",
              a.status, last.type);
    snprintf (form, sizeof form, "csrf=%s&kind=status&value=proposed&item=%s", csrf, item);
    s_http ("POST", "/act", cookie, form, &a);
    KH_CHECK ("a stage the form does not offer is refused", a.status == 400, "%u", a.status);
    snprintf (form, sizeof form, "csrf=%s&type=offer&title=", csrf);
    s_http ("POST", "/new", cookie, form, &a);
    KH_CHECK ("an item without a title is refused before the hub, with the reason",
              a.status == 400 && strstr (a.text, "MISSING"), "%u", a.status);
    kh_fake_hub_mode (hub, "reject", 1);
    snprintf (form, sizeof form, "csrf=%s&type=idea&title=Abgelehnt", csrf);
    s_http ("POST", "/new", cookie, form, &a);
    KH_CHECK ("the hub's refusal is told, with its code", a.status == 400
              && strstr (a.text, "Nicht gespeichert") && strstr (a.text, "MISSING"), "%u",
              a.status);

    char admin [120], admin_csrf [80];
    s_sign_in ("admin", "geheim-2", admin, admin_csrf);
    snprintf (form, sizeof form, "csrf=%s&type=offer&title=Admin", admin_csrf);
    s_http ("POST", "/new", admin, form, &a);
    KH_CHECK ("an admin publishes nothing", a.status == 403
              && strstr (a.text, "Administratoren"), "%u", a.status);

    snprintf (form, sizeof form, "csrf=%s", admin_csrf);
    s_http ("POST", "/logout", cookie, form, &a);
    KH_CHECK ("another session's token does not sign out", a.status == 403, "%u", a.status);
    snprintf (form, sizeof form, "csrf=%s", csrf);
    s_http ("POST", "/logout", cookie, form, &a);
    KH_CHECK ("signing out deletes the cookie", a.status == 303
              && strstr (a.text, "kh_session=; Path=/") && strstr (a.text, "Max-Age=0"),
              "%u", a.status);
    s_http ("GET", "/new", cookie, NULL, &a);
    KH_CHECK ("a session signed out is refused", a.status == 303, "%u", a.status);
    s_now += 31 * 60 * 1000;
    s_http ("GET", "/new", admin, NULL, &a);
    KH_CHECK ("an expired session is refused", a.status == 303, "%u", a.status);
    snprintf (form, sizeof form, "csrf=%s&type=offer&title=Spaet", admin_csrf);
    s_http ("POST", "/new", admin, form, &a);
    KH_CHECK ("a form posted with an expired session is refused", a.status == 403, "%u",
              a.status);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    snprintf (s_dir, sizeof s_dir, "/tmp/kh_web_forms_XXXXXX");
    if (!mkdtemp (s_dir))
        return 1;
    snprintf (s_users, sizeof s_users, "%s/web-users", s_dir);
    s_write_users ();
    char db [128];
    kh_problem_t why;
    snprintf (db, sizeof db, "%s/kreishub.db", s_dir);
    kh_store_t *store = kh_store_new (db, KH_SYNC_OFF, &why);
    kh_store_destroy (&store);
    kh_fake_hub_t hub;
    if (kh_fake_hub_start (&hub))
        return 1;
    kh_web_config_t config = { .address = "127.0.0.1", .db = db, .threads = 2,
                               .client_ep = hub.client };
    kh_web_t *web = kh_web_new (&config, &why);
    kh_web_gate_t *gate = kh_web_gate_new (s_users, false);
    kh_web_gate_set_clock (gate, s_clock, &s_now);
    kh_web_forms_t *forms = kh_web_forms_new (gate);
    KH_CHECK ("the server starts", web && forms, "%s", why.reason);
    if (web && forms && kh_web_forms_attach (forms, web) == 0) {
        s_port = kh_web_port (web);
        test_sign_in ();
        test_forwarded ();
        test_acting (&hub, gate);
    }
    kh_web_destroy (&web);
    kh_web_forms_destroy (&forms);
    kh_web_gate_destroy (&gate);
    kh_fake_hub_stop (&hub);
    char command [128];
    snprintf (command, sizeof command, "rm -rf %s", s_dir);
    if (system (command))
        printf ("could not remove %s\n", s_dir);
    return kh_check_done ("web_forms_test");
}
