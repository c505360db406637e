/*  it_audit.c - the audit with the real broker and recorder on loopback TCP
    (PROTOCOL.md section 12): every refused message and connection is recorded with
    the right fields, an admin alone reads it (kreishub log --audit), it survives a
    restart, and a flood of bad messages while no recorder is linked keeps the
    broker's queue at its bound and counts what it drops.

    Each check does something the hub must refuse, then reads the audit through the
    admin until the record of it is there (the recorder writes it in its next
    transaction; the wait is bounded and ends as soon as it is seen).
*/
#include <signal.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_cert.h"
#include "kh_codec.h"
#include "kh_harness.h"

#define S_WAIT_MS       5000    /* an answer or an audit record the hub owes */
#define S_NONE_MS       500     /* an answer that must not come: none within this */

/* Under AddressSanitizer the broker's memory is ASan's (its quarantine keeps what is
   freed): the broker's RSS is printed, its bound not checked; so under valgrind. */
#if defined (__SANITIZE_ADDRESS__)
#   define S_BOUNDS false
#else
#   define S_BOUNDS true
#endif
#define S_AUDIT_MAX     10000   /* the broker's queue of audit records, at most */
#define S_FLOOD_MORE    2000    /* bad messages beyond it in the flood */
#define S_WINDOW        500     /* the flood's messages in flight at once */

/* The audit as far as the tests have read it. */
typedef struct {
    kh_audit_t *rows;
    size_t      count;
    size_t      cap;
} s_audit_t;

static s_audit_t s_seen;

/* Adds rec to s_seen (a kh_audit_fn). */
static int
s_keep (const kh_audit_t *rec, void *arg)
{
    if (s_seen.count == s_seen.cap) {
        size_t cap = s_seen.cap ? 2 * s_seen.cap : 256;
        kh_audit_t *rows = (kh_audit_t *) realloc (s_seen.rows, cap * sizeof *rows);
        if (!rows)
            return -1;
        s_seen.rows = rows;
        s_seen.cap = cap;
    }
    s_seen.rows [s_seen.count++] = *rec;
    return 0;
}

/* Reads what the audit holds beyond what was read into s_seen. Returns the client's
   code. */
static int
s_read_more (kh_client_t *admin)
{
    kh_audit_query_t q = { .since_seq = s_seen.count ? s_seen.rows [s_seen.count - 1].seq + 1
                                                     : 1 };
    return kh_client_audit (admin, &q, 0, S_WAIT_MS, s_keep, NULL);
}

/* What a test looks for in the audit: each field that is not NULL must match (a
   text: equal, or with a trailing '*' a prefix; reason: contains). */
typedef struct {
    int         code;
    const char *endpoint, *command, *peer, *claimed, *ags, *role, *key, *reason;
    uint32_t    size;                   /* 0: any */
} s_want_t;

/* True if text matches want as s_want_t says (NULL: anything). */
static bool
s_text_is (const char *text, const char *want)
{
    if (!want)
        return true;
    size_t len = strlen (want);
    if (len && want [len - 1] == '*')
        return strncmp (text, want, len - 1) == 0;
    return streq (text, want);
}

static bool
s_matches (const kh_audit_t *rec, const s_want_t *want)
{
    return rec->code == want->code && s_text_is (rec->endpoint, want->endpoint)
        && s_text_is (rec->command, want->command) && s_text_is (rec->peer, want->peer)
        && s_text_is (rec->claimed, want->claimed) && s_text_is (rec->ags, want->ags)
        && s_text_is (rec->role, want->role) && s_text_is (rec->key, want->key)
        && (!want->reason || strstr (rec->reason, want->reason))
        && (!want->size || rec->size == want->size);
}

/* Waits until the audit holds a record after seq from that matches want; returns
   it (in s_seen), or NULL after S_WAIT_MS. */
static const kh_audit_t *
s_await (kh_client_t *admin, uint64_t from, const s_want_t *want)
{
    int64_t end = zclock_mono () + S_WAIT_MS;
    size_t looked = 0;
    do {
        s_read_more (admin);
        for (; looked < s_seen.count; looked++)
            if (s_seen.rows [looked].seq > from && s_matches (&s_seen.rows [looked], want))
                return &s_seen.rows [looked];
        zclock_sleep (20);
    } while (zclock_mono () < end);
    return NULL;
}

/* The audit's highest seq the tests have read (0: none). */
static uint64_t
s_last (kh_client_t *admin)
{
    s_read_more (admin);
    return s_seen.count ? s_seen.rows [s_seen.count - 1].seq : 0;
}

/* Prints what was found for a failed check. */
static void
s_show (const char *what, const kh_audit_t *rec)
{
    if (rec)
        printf ("  %s: seq %llu code %d %s %s size %u peer '%s' claimed '%s' ags '%s' role "
                "'%s' key '%.8s' reason '%s'\n", what, (unsigned long long) rec->seq,
                rec->code, rec->endpoint, rec->command, rec->size, rec->peer, rec->claimed,
                rec->ags, rec->role, rec->key, rec->reason);
}

/* Builds an idea from from into buf. Returns 0 or -1. */
static int
s_idea (msgpack_sbuffer *buf, const char *from, const char *title)
{
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    kh_problem_t why;
    kh_builder_t *builder = kh_builder_new ("idea");
    msgpack_sbuffer_clear (buf);
    int rc = builder && kh_builder_set (builder, "title", title, &why) == 0
          && kh_builder_pack (builder, id, from, kh_now_ms (), buf, &why) == 0 ? 0 : -1;
    kh_builder_destroy (&builder);
    return rc;
}

/* Publishes an idea from from with client; returns what kh_client_publish did. */
static int
s_publish (kh_client_t *client, const char *from, const char *title, int timeout)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = s_idea (&buf, from, title) ? -1
           : kh_client_publish (client, buf.data, buf.size, timeout, 0, NULL, NULL, NULL);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* The public key (Z85) of who's certificate, into key. */
static void
s_key_of (kh_hub_t *hub, const char *who, char key [KH_AUDIT_KEY_MAX])
{
    kh_keys_t *keys = kh_hub_keys (hub, who);
    snprintf (key, KH_AUDIT_KEY_MAX, "%s", keys ? kh_keys_public (keys) : "?");
    kh_keys_destroy (&keys);
}

/* ---------------------------------------------------------------- messages */

/* A body that is not msgpack: MALFORMED, with the peer, the certificate and the size
   of the message, and no from (none could be read). */
static void
test_malformed (kh_hub_t *hub, kh_client_t *admin)
{
    uint64_t from = s_last (admin);
    zsock_t *dealer = kh_hub_dealer (hub, "05162004");
    zsock_send (dealer, "sb", KH_CMD_PUBLISH, "\xc1", (size_t) 1);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    char *command = zpoller_wait (poller, S_WAIT_MS) ? zstr_recv (dealer) : NULL;
    KH_CHECK ("a malformed publish is answered ERROR", command && streq (command,
              KH_REP_ERROR), "'%s'", command ? command : "nothing");
    zstr_free (&command);
    char key [KH_AUDIT_KEY_MAX];
    s_key_of (hub, "05162004", key);
    s_want_t want = { .code = KH_EMALFORMED, .endpoint = "client", .command = "PUBLISH",
                      .peer = "127.0.0.1", .claimed = "", .ags = "05162004",
                      .role = "municipality", .key = key, .size = 8 };
    const kh_audit_t *rec = s_await (admin, from, &want);
    KH_CHECK ("a malformed message is audited: MALFORMED, peer, certificate, size",
              rec && rec->at > 0, "not found");
    if (!rec && s_seen.count)
        s_show ("last", &s_seen.rows [s_seen.count - 1]);
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
}

/* A member claiming another AGS: SENDER, with what it claimed and who it is. */
static void
test_sender (kh_hub_t *hub, kh_client_t *admin)
{
    uint64_t from = s_last (admin);
    kh_client_t *member = kh_hub_client (hub, "05162012");
    int rc = s_publish (member, "05162008", "Fremder Absender", S_WAIT_MS);
    char key [KH_AUDIT_KEY_MAX];
    s_key_of (hub, "05162012", key);
    s_want_t want = { .code = KH_ESENDER, .endpoint = "client", .command = "PUBLISH",
                      .peer = "127.0.0.1", .claimed = "05162008", .ags = "05162012",
                      .role = "municipality", .key = key, .reason = "05162008" };
    const kh_audit_t *rec = s_await (admin, from, &want);
    KH_CHECK ("a SENDER refusal is audited with the AGS claimed and the certificate's",
              rc == KH_ESENDER && rec && rec->size > 7, "rc %d", rc);
    kh_client_destroy (&member);
}

/* An admin publishing: FORBIDDEN, with its role. */
static void
test_forbidden (kh_hub_t *hub, kh_client_t *admin)
{
    uint64_t from = s_last (admin);
    int rc = s_publish (admin, "05162", "Admin schreibt", S_WAIT_MS);
    char key [KH_AUDIT_KEY_MAX];
    s_key_of (hub, "admin", key);
    s_want_t want = { .code = KH_EFORBIDDEN, .command = "PUBLISH", .claimed = "05162",
                      .role = "admin", .key = key, .reason = "admin" };
    const kh_audit_t *rec = s_await (admin, from, &want);
    KH_CHECK ("a FORBIDDEN refusal is audited with the certificate's role", rc == KH_EFORBIDDEN
              && rec, "rc %d", rc);
}

/* ---------------------------------------------------------------- connections */

/* A key the hub does not admit: its connection is refused, and audited with the
   peer's address; so is a plain client's to the secure hub. */
static void
test_unknown_key (kh_hub_t *hub, kh_client_t *admin)
{
    uint64_t from = s_last (admin);
    kh_ident_t ident = { .ags = "05162004", .name = "Fremd", .role = KH_ROLE_MUNICIPALITY };
    char pub [400];
    kh_cert_create (hub->dir, "stranger", &ident, pub, sizeof pub, NULL);
    kh_keys_t *keys = kh_keys_load (pub, hub->server_cert, NULL);
    kh_client_t *stranger = keys ? kh_client_new_secure (hub->client, keys) : NULL;
    int rc = stranger ? kh_client_ping (stranger, S_NONE_MS, NULL, NULL) : -1;
    kh_client_destroy (&stranger);      /* it would try again every 100 ms */
    s_want_t want = { .code = KH_EFORBIDDEN, .endpoint = "client", .command = "CONNECT",
                      .peer = "127.0.0.1:*", .claimed = "", .ags = "", .key = "",
                      .reason = "not admitted", .size = 0 };
    const kh_audit_t *rec = s_await (admin, from, &want);
    KH_CHECK ("an unknown key's connection is refused and audited with the peer's "
              "address", rc == KH_ETIMEOUT && rec && rec->size == 0, "rc %d", rc);
    if (!rec && s_seen.count)
        s_show ("last", &s_seen.rows [s_seen.count - 1]);
    if (rec)
        printf ("it_audit: an unknown key's connection: peer '%s', reason '%s'\n",
                rec->peer, rec->reason);

    /* Its handshake fails at the first bytes, often before the watcher could ask for
       the address, and libzmq tells it as a mechanism mismatch or, when the client
       closed first, as a connection that ended: either is a refused CONNECT here
       (PROTOCOL.md section 12). */
    from = s_last (admin);
    kh_client_t *plain = kh_client_new (hub->client);
    rc = kh_client_ping (plain, S_NONE_MS, NULL, NULL);
    kh_client_destroy (&plain);
    want.reason = "connection";         /* "another security mechanism", or the
                                           client hung up first: "ended before" */
    want.peer = NULL;
    rec = s_await (admin, from, &want);
    KH_CHECK ("a plain client's connection to the secure hub is audited too",
              rc == KH_ETIMEOUT && rec, "rc %d", rc);
    if (rec)
        printf ("it_audit: a plain client's connection: peer '%s'\n", rec->peer);
    else
        for (size_t i = 0; i < s_seen.count; i++)
            if (s_seen.rows [i].seq > from)
                s_show ("seen", &s_seen.rows [i]);
    kh_keys_destroy (&keys);
}

/* A certificate removed while its connection is open: its next message is refused
   (FORBIDDEN) and audited with the key and AGS it connected with; a new connection
   with it is refused and audited. */
static void
test_revoked (kh_hub_t *hub, kh_client_t *admin)
{
    const char *cert = kh_hub_cert (hub, "05162028");
    char path [400], copy [420], key [KH_AUDIT_KEY_MAX];
    snprintf (path, sizeof path, "%s", cert ? cert : "");
    snprintf (copy, sizeof copy, "%s/05162028.cert", hub->clients);
    s_key_of (hub, "05162028", key);
    kh_keys_t *keys = kh_keys_load (path, hub->server_cert, NULL);
    kh_client_t *open = keys ? kh_client_new_secure (hub->client, keys) : NULL;
    int rc = open ? s_publish (open, "05162028", "Vor dem Widerruf", S_WAIT_MS) : -1;
    uint64_t from = s_last (admin);
    unlink (copy);
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (rc == 0 && zclock_mono () < end)
        if ((rc = s_publish (open, "05162028", "Nach dem Widerruf", S_WAIT_MS)) == 0)
            zclock_sleep (20);
    s_want_t want = { .code = KH_EFORBIDDEN, .command = "PUBLISH", .claimed = "05162028",
                      .ags = "05162028", .role = "municipality", .key = key,
                      .reason = "not admitted" };
    const kh_audit_t *rec = s_await (admin, from, &want);
    KH_CHECK ("a revoked certificate's message is refused and audited with its key",
              rc == KH_EFORBIDDEN && rec, "rc %d", rc);
    kh_client_destroy (&open);
    from = s_last (admin);
    kh_client_t *again = keys ? kh_client_new_secure (hub->client, keys) : NULL;
    rc = again ? kh_client_ping (again, S_NONE_MS, NULL, NULL) : -1;
    kh_client_destroy (&again);
    s_want_t refused = { .code = KH_EFORBIDDEN, .command = "CONNECT", .peer = "127.0.0.1:*",
                         .reason = "not admitted" };
    rec = s_await (admin, from, &refused);
    KH_CHECK ("and a new connection with it is refused and audited", rc == KH_ETIMEOUT && rec,
              "rc %d", rc);
    kh_keys_destroy (&keys);
}

/* ---------------------------------------------------------------- reading it */

/* kreishub log --audit: an admin reads it, as a table, JSON lines or CSV, filtered
   by code; anyone else gets FORBIDDEN (exit status 2), and that refusal is audited
   too. */
static void
test_log_audit (kh_hub_t *hub, kh_client_t *admin)
{
    static char out [1 << 20];
    uint64_t from = s_last (admin);
    int rc = kh_hub_run_as (hub, "05162004", out, sizeof out, "kreishub log --audit 2>&1");
    KH_CHECK ("a member's kreishub log --audit is refused FORBIDDEN, exit status 2",
              rc == 2 && strstr (out, "FORBIDDEN") && strstr (out, "admins"), "rc %d '%s'",
              rc, out);
    s_want_t want = { .code = KH_EFORBIDDEN, .command = "AUDIT", .ags = "05162004",
                      .role = "municipality", .reason = "admins" };
    KH_CHECK ("and the refusal is audited", s_await (admin, from, &want), "not found");

    rc = kh_hub_run (hub, out, sizeof out, "kreishub log --audit --code SENDER");
    KH_CHECK ("the admin's kreishub log --audit shows the audit as a table", rc == 0
              && strncmp (out + strspn (out, " "), "SEQ", 3) == 0 && strstr (out, "SENDER")
              && strstr (out, "05162008") && !strstr (out, "MALFORMED"), "rc %d '%.400s'",
              rc, out);
    rc = kh_hub_run (hub, out, sizeof out, "kreishub log --audit --code 1 --format json");
    KH_CHECK ("as JSON lines, filtered by the code's number", rc == 0
              && strstr (out, "\"code\":1,") && strstr (out, "\"name\":\"MALFORMED\"")
              && strstr (out, "\"peer\":\"127.0.0.1\"") && !strstr (out, "\"code\":22"),
              "rc %d '%.400s'", rc, out);
    rc = kh_hub_run_as (hub, "admin", out, sizeof out, "kreishub log --audit --from 05162012 "
                        "--format csv");
    KH_CHECK ("as CSV, filtered by an AGS", rc == 0 && strncmp (out, "seq,at,endpoint,", 16)
              == 0 && strstr (out, ",\"05162012\",") && !strstr (out, "MALFORMED"),
              "rc %d '%.400s'", rc, out);
}

/* The audit is in the store: a restart of broker and recorder keeps it, and its seq
   goes on from where it was. */
static void
test_restart (kh_hub_t *hub, kh_client_t **admin)
{
    uint64_t last = s_last (*admin);
    kh_audit_t before [3];
    size_t count = s_seen.count < 3 ? s_seen.count : 3;
    memcpy (before, s_seen.rows, count * sizeof *before);
    kh_client_destroy (admin);
    int rc = kh_hub_stop_recorder (hub, SIGTERM) == 0 && kh_hub_stop_broker (hub, SIGTERM) == 0
          && kh_hub_start_broker (hub) == 0 && kh_hub_start_recorder (hub) == 0
          && kh_hub_await_link (hub, S_WAIT_MS) == 0 ? 0 : -1;
    *admin = kh_hub_client (hub, "admin");
    s_seen.count = 0;
    s_read_more (*admin);
    bool same = rc == 0 && count > 0 && s_seen.count >= count
             && memcmp (s_seen.rows, before, count * sizeof *before) == 0
             && s_seen.rows [s_seen.count - 1].seq >= last;
    KH_CHECK ("the audit survives a restart of broker and recorder", same, "rc %d, %zu "
              "records", rc, s_seen.count);
    kh_client_t *member = kh_hub_client (hub, "05162012");
    s_publish (member, "05162016", "Nach dem Neustart", S_WAIT_MS);
    kh_client_destroy (&member);
    s_want_t want = { .code = KH_ESENDER, .claimed = "05162016" };
    const kh_audit_t *rec = s_await (*admin, last, &want);
    KH_CHECK ("and its seq goes on after it, gap-free", rec && rec->seq == last + 1,
              "seq %llu after %llu", rec ? (unsigned long long) rec->seq : 0ULL,
              (unsigned long long) last);
}

/* ---------------------------------------------------------------- the bound */

/* The broker's resident memory in KiB (0 if it cannot be read). */
static long
s_rss (pid_t pid)
{
    char path [64], text [4096];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    const char *line = strstr (kh_hub_slurp (path, text, sizeof text), "VmRSS:");
    return line ? strtol (line + 6, NULL, 10) : 0;
}

/* Sends count malformed publishes through dealer, S_WINDOW in flight, and reads an
   answer to each. Returns how many were answered ERROR. */
static int
s_flood (zsock_t *dealer, int count)
{
    zpoller_t *poller = zpoller_new (dealer, NULL);
    int sent = 0, answered = 0;
    while (answered < count) {
        while (sent < count && sent - answered < S_WINDOW) {
            zsock_send (dealer, "sb", KH_CMD_PUBLISH, "\xc1", (size_t) 1);
            sent++;
        }
        if (!zpoller_wait (poller, S_WAIT_MS))
            break;
        char *command = zstr_recv (dealer);
        answered += command && streq (command, KH_REP_ERROR);
        zstr_free (&command);
    }
    zpoller_destroy (&poller);
    return answered;
}

/* While no recorder is linked, a flood of bad messages fills the broker's queue of
   audit records to its bound and no further: the rest are dropped and counted
   (logged), and once a recorder links, the queue goes to it and a note says how
   many were dropped. */
static void
test_flood (kh_hub_t *hub, kh_client_t *admin)
{
    uint64_t from = s_last (admin);
    int rc = kh_hub_stop_recorder (hub, SIGTERM);
    zsock_t *dealer = kh_hub_dealer (hub, "05162004");
    long rss_before = s_rss (hub->broker_pid);
    int64_t start = zclock_mono ();
    int answered = s_flood (dealer, S_AUDIT_MAX + S_FLOOD_MORE);
    int64_t took = zclock_mono () - start;
    long rss_after = s_rss (hub->broker_pid);
    printf ("it_audit: %d bad messages answered in %lld ms; broker RSS %ld KiB before, "
            "%ld KiB after\n", answered, (long long) took, rss_before, rss_after);
    KH_CHECK ("a flood of bad messages is answered while no recorder is linked", rc == 0
              && answered == S_AUDIT_MAX + S_FLOOD_MORE, "rc %d, %d answered", rc, answered);
    char path [400], log [65536];
    snprintf (path, sizeof path, "%s/kreishub-broker.err", hub->dir);
    KH_CHECK ("the broker says that its audit queue is full and that it drops",
              strstr (kh_hub_slurp (path, log, sizeof log), "audit: 10000 records wait for "
              "the recorder; newer ones are dropped"), "log: %.2000s", log);
    /* Under valgrind (KH_WRAP) the RSS is memcheck's, with its shadow memory. */
    bool bounded = S_BOUNDS && !getenv ("KH_WRAP");
    KH_CHECK ("its memory stays bounded: the queue of 10,000 costs a few MiB",
              !bounded || rss_after - rss_before < 24 * 1024, "%ld KiB more",
              rss_after - rss_before);

    rc = kh_hub_start_recorder (hub) || kh_hub_await_link (hub, S_WAIT_MS);
    char reason [64];
    snprintf (reason, sizeof reason, "%d audit records were dropped", S_FLOOD_MORE);
    s_want_t note = { .code = 0, .endpoint = "broker", .command = "DROPPED",
                      .reason = reason };
    const kh_audit_t *rec = s_await (admin, from, &note);
    size_t kept = 0;
    for (size_t i = 0; rec && i < s_seen.count && s_seen.rows [i].seq < rec->seq; i++)
        kept += s_seen.rows [i].seq > from;
    KH_CHECK ("once a recorder links, the broker's queue goes to it: exactly 10,000 "
              "records, then a note of how many were dropped", rc == 0 && rec
              && kept == S_AUDIT_MAX, "rc %d, note %s, %zu kept", rc, rec ? "found"
              : "missing", kept);
    KH_CHECK ("and the broker logs what it dropped", strstr (kh_hub_slurp (path, log,
              sizeof log), reason), "log: %.2000s", log);
    kh_client_t *member = kh_hub_client (hub, "05162004");
    rc = s_publish (member, "05162004", "Nach der Flut", S_WAIT_MS);
    KH_CHECK ("and a good publish is stored as before", rc == 0, "rc %d", rc);
    kh_client_destroy (&member);
    zsock_destroy (&dealer);
}

int
main (void)
{
    kh_hub_t hub;
    if (kh_hub_start (&hub, NULL, NULL)) {
        printf ("FAIL a secure hub starts\n");
        return 1;
    }
    kh_client_t *admin = kh_hub_client (&hub, "admin");
    test_malformed (&hub, admin);
    test_sender (&hub, admin);
    test_forbidden (&hub, admin);
    test_unknown_key (&hub, admin);
    test_revoked (&hub, admin);
    test_log_audit (&hub, admin);
    test_restart (&hub, &admin);
    test_flood (&hub, admin);
    kh_client_destroy (&admin);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&hub, s_failed > 0) == 0,
              "see logs in %s", hub.dir);
    free (s_seen.rows);
    return kh_check_done ("it_audit");
}
