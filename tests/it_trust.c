/*  it_trust.c - identity and access with the real broker and recorder on loopback
    TCP (PROTOCOL.md section 11): only the certificates of the clients directory get
    in, each message is taken from its certificate's holder, who may do what its role
    allows, and removing a certificate revokes it; plain mode and secure mode without
    certificates are refused where they must be.

    Each check publishes or asks as one holder and then looks at the store through
    the admin, who reads everything: what was refused was not stored. Waits are
    bounded and end as soon as what they wait for is seen.
*/
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_cert.h"
#include "kh_codec.h"
#include "kh_harness.h"
#include "kh_link.h"

#define S_WAIT_MS       5000    /* an answer the hub owes */
#define S_NONE_MS       700     /* an answer that must not come: none within this */
#define S_REVOKE_MS     1500    /* a removed certificate is refused within this */

/* Builds an idea from from titled title into buf. Returns 0 or -1. */
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

/* Publishes an idea from from with client; returns what kh_client_publish did, with
   the error's reason in err. */
static int
s_publish (kh_client_t *client, const char *from, const char *title, int timeout,
           kh_error_reply_t *err)
{
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    int rc = s_idea (&buf, from, title) ? -1
           : kh_client_publish (client, buf.data, buf.size, timeout, 0, NULL, NULL, err);
    msgpack_sbuffer_destroy (&buf);
    return rc;
}

/* The store's head as the admin's client sees it (0 if it cannot be asked). */
static uint64_t
s_head (kh_client_t *admin)
{
    uint64_t head = 0;
    kh_client_ping (admin, S_WAIT_MS, &head, NULL);
    return head;
}

/* Makes a certificate with ags and role (either NULL: left out) named base in the
   hub's certs directory, its public part admitted; waits until the broker admits it.
   Returns its path (a static buffer), or NULL. */
static const char *
s_special (kh_hub_t *hub, const char *base, const char *ags, const char *role)
{
    static char path [400];
    kh_ident_t ident = { .role = kh_role_parse (role) };
    snprintf (ident.ags, sizeof ident.ags, "%s", ags ? ags : "");
    snprintf (ident.name, sizeof ident.name, "%s", base);
    char pub [400], copy [400];
    kh_problem_t why;
    if (kh_cert_create (hub->certs, base, &ident, pub, sizeof pub, &why)) {
        printf ("it_trust: %s\n", why.reason);
        return NULL;
    }
    snprintf (copy, sizeof copy, "%s/%s.cert", hub->clients, base);
    zcert_t *cert = zcert_load (pub);
    int rc = cert ? zcert_save_public (cert, copy) : -1;
    zcert_destroy (&cert);
    if (rc || kh_hub_await_admitted (hub, pub, S_WAIT_MS))
        return NULL;
    snprintf (path, sizeof path, "%s", pub);
    return path;
}

/* A client made of the certificate at cert (and the hub's public one). */
static kh_client_t *
s_client_of (kh_hub_t *hub, const char *cert)
{
    kh_keys_t *keys = cert ? kh_keys_load (cert, hub->server_cert, NULL) : NULL;
    kh_client_t *client = keys ? kh_client_new_secure (hub->client, keys) : NULL;
    kh_keys_destroy (&keys);
    return client;
}

/* ---------------------------------------------------------------- admission */

/* A key the clients directory does not hold gets no answer, and what it sends is
   not stored; a plain client neither. */
static void
test_unknown_key (kh_hub_t *hub, kh_client_t *admin)
{
    kh_ident_t ident = { .ags = "05162004", .name = "Fremd", .role = KH_ROLE_MUNICIPALITY };
    char pub [400];
    kh_cert_create (hub->dir, "stranger", &ident, pub, sizeof pub, NULL);
    kh_client_t *stranger = s_client_of (hub, pub);
    uint64_t before = s_head (admin);
    int rc = stranger ? s_publish (stranger, "05162004", "Fremder Schluessel", S_NONE_MS, NULL)
                      : -1;
    KH_CHECK ("a key the hub does not admit gets no answer", rc == KH_ETIMEOUT, "rc %d", rc);
    rc = stranger ? kh_client_ping (stranger, S_NONE_MS, NULL, NULL) : -1;
    KH_CHECK ("not even to a ping", rc == KH_ETIMEOUT, "rc %d", rc);
    kh_client_t *plain = kh_client_new (hub->client);
    rc = s_publish (plain, "05162004", "Ohne Schluessel", S_NONE_MS, NULL);
    KH_CHECK ("a plain client gets no answer from a secure hub", rc == KH_ETIMEOUT, "rc %d",
              rc);
    KH_CHECK ("and nothing they sent is stored", s_head (admin) == before, "head %llu, was "
              "%llu", (unsigned long long) s_head (admin), (unsigned long long) before);
    kh_client_destroy (&plain);
    kh_client_destroy (&stranger);
}

/* A certificate that kreishub keygen made is admitted once it is in the clients
   directory, and its holder publishes as itself. */
static void
test_keygen_admitted (kh_hub_t *hub, kh_client_t *admin)
{
    char out [1024], keys [300], path [320], copy [700];
    snprintf (keys, sizeof keys, "%s/keygen", hub->dir);
    int rc = kh_hub_run (hub, out, sizeof out, "kreishub keygen --ags 05162099 --name "
                         "'Neue Gemeinde' --role municipality -o '%s'", keys);
    snprintf (path, sizeof path, "%s/05162099.cert", keys);
    snprintf (copy, sizeof copy, "cp '%s' '%s/'", path, hub->clients);
    KH_CHECK ("keygen makes a member's certificate", rc == 0 && system (copy) == 0
              && kh_hub_await_admitted (hub, path, S_WAIT_MS) == 0, "rc %d '%s'", rc, out);
    kh_client_t *member = s_client_of (hub, path);
    uint64_t before = s_head (admin);
    kh_error_reply_t err;
    rc = member ? s_publish (member, "05162099", "Mit eigenem Schluessel", S_WAIT_MS, &err)
                : -1;
    KH_CHECK ("a known key publishes as itself", rc == 0 && s_head (admin) == before + 1,
              "rc %d %s", rc, err.reason);
    kh_client_destroy (&member);
}

/* ---------------------------------------------------------------- roles */

/* Publishes an idea from from as who (a client made for it) and expects code;
   checks that a refusal stored nothing. */
static void
s_expect (kh_hub_t *hub, kh_client_t *admin, kh_client_t *client, const char *from,
          int code, const char *needle, const char *name)
{
    uint64_t before = s_head (admin);
    kh_error_reply_t err = { 0 };
    int rc = client ? s_publish (client, from, name, S_WAIT_MS, &err) : -1;
    KH_CHECK (name, rc == code && (!needle || strstr (err.reason, needle)), "rc %d (%s): %s",
              rc, rc > 0 ? kh_errname (rc) : "", err.reason);
    uint64_t after = s_head (admin);
    KH_CHECK (code ? "a refused publish is not stored" : "an accepted publish is stored",
              after == before + (code ? 0 : 1), "%s: head %llu after %llu", name,
              (unsigned long long) after, (unsigned long long) before);
}

static void
test_roles (kh_hub_t *hub, kh_client_t *admin)
{
    kh_client_t *member = kh_hub_client (hub, "05162012");
    s_expect (hub, admin, member, "05162012", 0, NULL,
              "a municipality publishes its own items");
    s_expect (hub, admin, member, "05162008", KH_ESENDER, "05162012",
              "a municipality claiming another AGS gets SENDER");
    s_expect (hub, admin, member, "05162", KH_ESENDER, "not the AGS of your certificate",
              "a municipality claiming the Kreis gets SENDER");
    kh_client_t *kreis = kh_hub_client (hub, "05162");
    s_expect (hub, admin, kreis, "05162", 0, NULL, "the Kreis publishes as itself");
    s_expect (hub, admin, kreis, "05162012", KH_ESENDER, NULL,
              "the Kreis claiming a municipality gets SENDER");
    s_expect (hub, admin, admin, "05162", KH_EFORBIDDEN, "admin",
              "an admin may not publish: FORBIDDEN");
    kh_client_t *bare = s_client_of (hub, s_special (hub, "bare", NULL, "municipality"));
    s_expect (hub, admin, bare, "05162004", KH_EFORBIDDEN, "no ags",
              "a certificate without ags gets FORBIDDEN");
    kh_client_t *roleless = s_client_of (hub, s_special (hub, "roleless", "05162004", NULL));
    s_expect (hub, admin, roleless, "05162004", KH_EFORBIDDEN, "no role",
              "a certificate without a role gets FORBIDDEN");
    kh_client_t *hubcert = s_client_of (hub, s_special (hub, "fake-hub", "05162", "hub"));
    s_expect (hub, admin, hubcert, "05162", KH_EFORBIDDEN, "hub",
              "a certificate of role hub is refused on the client endpoint");
    int rc = hubcert ? kh_client_ping (hubcert, S_WAIT_MS, NULL, NULL) : -1;
    KH_CHECK ("even its ping", rc == KH_EFORBIDDEN, "rc %d", rc);

    uint64_t head = s_head (admin), seen = 0;
    rc = kh_client_ping (member, S_WAIT_MS, &seen, NULL);
    KH_CHECK ("anyone admitted reads: a municipality pings and sees the head", rc == 0
              && seen == head, "rc %d head %llu of %llu", rc, (unsigned long long) seen,
              (unsigned long long) head);
    kh_client_destroy (&member);
    kh_client_destroy (&kreis);
    kh_client_destroy (&bare);
    kh_client_destroy (&roleless);
    kh_client_destroy (&hubcert);
}

/* A record to count the rows of a query. */
static int
s_count (const kh_record_t *rec, void *arg)
{
    (*(uint64_t *) arg)++;
    return 0;
}

/* ---------------------------------------------------------------- revocation */

/* Removing a certificate from the clients directory refuses its holder within a
   second: every message on its open connection (FORBIDDEN), and new connections (no
   answer). */
static void
test_revocation (kh_hub_t *hub, kh_client_t *admin)
{
    const char *cert = kh_hub_cert (hub, "05162028");
    char path [400], copy [420];
    snprintf (path, sizeof path, "%s", cert ? cert : "");
    snprintf (copy, sizeof copy, "%s/05162028.cert", hub->clients);
    kh_client_t *open = s_client_of (hub, path);
    kh_error_reply_t err;
    int rc = open ? s_publish (open, "05162028", "Vor dem Widerruf", S_WAIT_MS, &err) : -1;
    KH_CHECK ("before revocation the member publishes", rc == 0, "rc %d", rc);
    uint64_t before = s_head (admin);
    int64_t start = zclock_mono ();
    KH_CHECK ("the certificate can be removed", unlink (copy) == 0, "%s", copy);
    rc = 0;
    int tries = 0;
    while (rc == 0 && zclock_mono () - start < 5000) {
        rc = s_publish (open, "05162028", "Waehrend des Widerrufs", S_WAIT_MS, &err);
        tries++;
        if (rc == 0)
            zclock_sleep (20);
    }
    int64_t took = zclock_mono () - start;
    KH_CHECK ("a message on an open connection is refused FORBIDDEN once its certificate "
              "is removed, within a second", rc == KH_EFORBIDDEN && took < S_REVOKE_MS,
              "rc %d after %lld ms: %s", rc, (long long) took, err.reason);
    printf ("it_trust: revoked on the open connection after %lld ms (%d publishes)\n",
            (long long) took, tries);
    uint64_t accepted = (uint64_t) (tries - 1);
    KH_CHECK ("from then on nothing of it is stored", s_head (admin) == before + accepted,
              "head %llu, %llu before + %llu accepted", (unsigned long long) s_head (admin),
              (unsigned long long) before, (unsigned long long) accepted);
    rc = kh_client_ping (open, S_WAIT_MS, NULL, NULL);
    KH_CHECK ("and its pings are refused too", rc == KH_EFORBIDDEN, "rc %d", rc);
    uint64_t count = 0;
    kh_query_t q = { 0 };
    rc = kh_client_query (open, &q, 0, S_WAIT_MS, s_count, &count);
    KH_CHECK ("and its queries", rc == KH_EFORBIDDEN && count == 0, "rc %d", rc);
    kh_client_t *again = s_client_of (hub, path);
    rc = again ? kh_client_ping (again, S_NONE_MS, NULL, NULL) : -1;
    KH_CHECK ("a new connection with the removed certificate gets no answer",
              rc == KH_ETIMEOUT, "rc %d", rc);
    kh_client_destroy (&again);
    kh_client_destroy (&open);

    /* Put back, it is admitted again. */
    zcert_t *back = zcert_load (path);
    rc = back ? zcert_save_public (back, copy) : -1;
    zcert_destroy (&back);
    KH_CHECK ("a certificate put back is admitted again", rc == 0
              && kh_hub_await_admitted (hub, path, S_WAIT_MS) == 0, "rc %d", rc);
}

/* A certificate rewritten with other metadata for the same key (another role) no
   longer vouches for a connection made with the old one: its messages are refused
   until it connects again. */
static void
test_changed (kh_hub_t *hub, kh_client_t *admin)
{
    const char *cert = kh_hub_cert (hub, "05162022");
    char path [400], copy [420];
    snprintf (path, sizeof path, "%s", cert ? cert : "");
    snprintf (copy, sizeof copy, "%s/05162022.cert", hub->clients);
    kh_client_t *open = s_client_of (hub, path);
    int rc = open ? s_publish (open, "05162022", "Vor der Aenderung", S_WAIT_MS, NULL) : -1;
    KH_CHECK ("before the change the member publishes", rc == 0, "rc %d", rc);
    zcert_t *old = zcert_load (path);
    zcert_t *changed = old ? zcert_new_from (zcert_public_key (old), zcert_secret_key (old))
                           : NULL;
    if (changed) {
        zcert_set_meta (changed, KH_CERT_AGS, "05162022");
        zcert_set_meta (changed, KH_CERT_ROLE, "admin");
        zcert_save_public (changed, copy);
    }
    kh_error_reply_t err = { 0 };
    int64_t end = zclock_mono () + S_REVOKE_MS;
    while (rc == 0 && zclock_mono () < end)
        if ((rc = s_publish (open, "05162022", "Nach der Aenderung", S_WAIT_MS, &err)) == 0)
            zclock_sleep (20);
    KH_CHECK ("a connection made with a certificate that changed since is refused FORBIDDEN",
              rc == KH_EFORBIDDEN && strstr (err.reason, "changed"), "rc %d: %s", rc,
              err.reason);
    if (old)
        zcert_save_public (old, copy);  /* as it was, for the tests after this one */
    kh_hub_await_admitted (hub, path, S_WAIT_MS);
    zcert_destroy (&old);
    zcert_destroy (&changed);
    kh_client_destroy (&open);
}

/* A copy of an admitted certificate under another name (an operator's backup) is no
   harm: the broker keeps serving, and the holder with it. */
static void
test_duplicate_key (kh_hub_t *hub, kh_client_t *admin)
{
    char cmd [1024];
    snprintf (cmd, sizeof cmd, "cp '%s/05162004.cert' '%s/05162004-backup.cert'",
              hub->clients, hub->clients);
    int rc = system (cmd);
    /* a certificate added after the copy is admitted: the broker has read both */
    const char *later = s_special (hub, "after-the-copy", "05162004", "municipality");
    KH_CHECK ("the broker reads a directory with a key in two files", rc == 0 && later,
              "rc %d", rc);
    kh_client_t *member = kh_hub_client (hub, "05162004");
    s_expect (hub, admin, member, "05162004", 0, NULL,
              "a key two files carry is admitted once; the broker serves on");
    kh_client_destroy (&member);
}

/* ---------------------------------------------------------------- live */

/* Waits for the next message on sub within ms; returns its topic ("" if none). */
static void
s_next_topic (zsock_t *sub, int ms, char *topic, size_t cap)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    zmsg_t *msg = zpoller_wait (poller, ms) ? zmsg_recv (sub) : NULL;
    char *first = msg ? zmsg_popstr (msg) : NULL;
    snprintf (topic, cap, "%s", first ? first : "");
    zstr_free (&first);
    zmsg_destroy (&msg);
    zpoller_destroy (&poller);
}

/* The live endpoint serves certificates it admits only: an admitted subscriber hears
   the heartbeat and records; a plain one and an unknown key hear nothing. */
static void
test_live (kh_hub_t *hub)
{
    zsock_t *known = kh_hub_sub (hub, "05162016", "");
    zsock_t *plain = zsock_new_sub (hub->live, "");
    kh_ident_t ident = { .ags = "05162016", .name = "Fremd", .role = KH_ROLE_MUNICIPALITY };
    char pub [400];
    kh_cert_create (hub->dir, "live-stranger", &ident, pub, sizeof pub, NULL);
    zcert_t *theirs = zcert_load (pub), *server = zcert_load (hub->server_cert);
    zsock_t *stranger = zsock_new (ZMQ_SUB);
    if (theirs && server && stranger) {
        zcert_apply (theirs, stranger);
        zsock_set_curve_serverkey (stranger, zcert_public_txt (server));
        zsock_set_subscribe (stranger, "");
        zsock_connect (stranger, "%s", hub->live);
    }
    char topic [64];
    s_next_topic (known, S_WAIT_MS, topic, sizeof topic);
    KH_CHECK ("an admitted subscriber hears the live endpoint", streq (topic, KH_TOPIC_BEAT),
              "'%s'", topic);
    kh_client_t *member = kh_hub_client (hub, "05162016");
    int rc = s_publish (member, "05162016", "Live", S_WAIT_MS, NULL);
    int64_t end = zclock_mono () + S_WAIT_MS;
    do
        s_next_topic (known, S_WAIT_MS, topic, sizeof topic);
    while (streq (topic, KH_TOPIC_BEAT) && zclock_mono () < end);
    KH_CHECK ("and gets the records", rc == 0 && streq (topic, "idea/05162016/"), "rc %d '%s'",
              rc, topic);
    s_next_topic (plain, 10, topic, sizeof topic);
    KH_CHECK ("a plain subscriber hears nothing", !*topic, "'%s'", topic);
    s_next_topic (stranger, 10, topic, sizeof topic);
    KH_CHECK ("nor one whose key the hub does not admit", !*topic, "'%s'", topic);
    kh_client_destroy (&member);
    zsock_destroy (&known);
    zsock_destroy (&plain);
    zsock_destroy (&stranger);
    zcert_destroy (&theirs);
    zcert_destroy (&server);
}

/* A subscriber whose certificate is removed loses its live connection within a
   second: the broker ends the live connections and lets them in again through zauth,
   which refuses it; another subscriber goes on receiving. */
static void
test_live_revoked (kh_hub_t *hub)
{
    const char *cert = s_special (hub, "live-member", "05162016", "municipality");
    char path [400], copy [420], topic [64];
    snprintf (path, sizeof path, "%s", cert ? cert : "");
    snprintf (copy, sizeof copy, "%s/live-member.cert", hub->clients);
    zcert_t *theirs = zcert_load (path), *server = zcert_load (hub->server_cert);
    zsock_t *revoked = zsock_new (ZMQ_SUB);
    if (theirs && server && revoked) {
        zcert_apply (theirs, revoked);
        zsock_set_curve_serverkey (revoked, zcert_public_txt (server));
        zsock_set_subscribe (revoked, "");
        zsock_connect (revoked, "%s", hub->live);
    }
    zsock_t *other = kh_hub_sub (hub, "05162016", "");
    s_next_topic (revoked, S_WAIT_MS, topic, sizeof topic);
    KH_CHECK ("before its certificate is removed a subscriber hears the live endpoint",
              streq (topic, KH_TOPIC_BEAT), "'%s'", topic);
    char log_path [400], log [32768];
    snprintf (log_path, sizeof log_path, "%s/kreishub-broker.err", hub->dir);
    const char *cut = "live subscribers connect again";
    int cuts = 0;
    for (const char *p = kh_hub_slurp (log_path, log, sizeof log); (p = strstr (p, cut)); p++)
        cuts++;
    int64_t start = zclock_mono ();
    unlink (copy);
    int now = cuts;
    while (now == cuts && zclock_mono () - start < 5000) {
        zclock_sleep (20);
        now = 0;
        for (const char *p = kh_hub_slurp (log_path, log, sizeof log); (p = strstr (p, cut)); p++)
            now++;
    }
    int64_t took = zclock_mono () - start;
    KH_CHECK ("the broker ends the live connections within a second of the removal",
              now > cuts && took < S_REVOKE_MS, "after %lld ms", (long long) took);
    printf ("it_trust: live connections made again %lld ms after the removal\n",
            (long long) took);
    /* What was queued before the cut may still come: drain it. The other subscriber
       is back once a heartbeat reaches it (one a second); then publish. */
    do
        s_next_topic (revoked, 50, topic, sizeof topic);
    while (*topic);
    do
        s_next_topic (other, 50, topic, sizeof topic);
    while (*topic);
    s_next_topic (other, S_WAIT_MS, topic, sizeof topic);
    KH_CHECK ("an admitted subscriber connects again", streq (topic, KH_TOPIC_BEAT), "'%s'",
              topic);
    kh_client_t *member = kh_hub_client (hub, "05162016");
    int rc = s_publish (member, "05162016", "Nach dem Widerruf", S_WAIT_MS, NULL);
    int64_t end = zclock_mono () + S_WAIT_MS;
    do
        s_next_topic (other, S_WAIT_MS, topic, sizeof topic);
    while (streq (topic, KH_TOPIC_BEAT) && zclock_mono () < end);
    KH_CHECK ("and gets what follows", rc == 0
              && streq (topic, "idea/05162016/"), "rc %d '%s'", rc, topic);
    s_next_topic (revoked, S_NONE_MS, topic, sizeof topic);
    KH_CHECK ("the one whose certificate was removed gets nothing more", !*topic, "'%s'",
              topic);
    kh_client_destroy (&member);
    zsock_destroy (&revoked);
    zsock_destroy (&other);
    zcert_destroy (&theirs);
    zcert_destroy (&server);
}

/* ---------------------------------------------------------------- the link */

/* A peer on the recorder endpoint whose certificate is not of role hub is ignored:
   its HELLO takes nothing over, the real recorder goes on storing. */
static void
test_link (kh_hub_t *hub, kh_client_t *admin)
{
    zcert_t *ours = zcert_load (kh_hub_cert (hub, "05162020"));
    zcert_t *server = zcert_load (hub->server_cert);
    zsock_t *fake = zsock_new (ZMQ_DEALER);
    if (ours && server && fake) {
        zcert_apply (ours, fake);
        zsock_set_curve_serverkey (fake, zcert_public_txt (server));
        zsock_connect (fake, "%s", hub->recorder);
    }
    msgpack_sbuffer buf;
    msgpack_sbuffer_init (&buf);
    kh_hello_encode (&buf, 999999);
    zsock_send (fake, "sb", KH_REC_HELLO, buf.data, buf.size);
    msgpack_sbuffer_destroy (&buf);
    char path [400], log [16384];
    snprintf (path, sizeof path, "%s/kreishub-broker.err", hub->dir);
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (!strstr (kh_hub_slurp (path, log, sizeof log), "ignored on the recorder link")
           && zclock_mono () < end)
        zclock_sleep (20);
    KH_CHECK ("a HELLO on the recorder link from a certificate not of role hub is ignored",
              strstr (log, "ignored on the recorder link: a certificate whose role is not hub"),
              "broker log: %s", log);
    kh_client_t *member = kh_hub_client (hub, "05162020");
    s_expect (hub, admin, member, "05162020", 0, NULL,
              "the real recorder goes on storing after it");
    uint64_t head = s_head (admin);
    KH_CHECK ("and the head is the store's, not the impostor's", head < 999999, "head %llu",
              (unsigned long long) head);
    kh_client_destroy (&member);
    zsock_destroy (&fake);
    zcert_destroy (&ours);
    zcert_destroy (&server);
}

/* ---------------------------------------------------------------- refusals */

/* Runs a program of the hub (args after it), which must exit status within 10 s;
   its stderr goes to err. Returns true if it did. */
static bool
s_exits (const char *args, int status, char *err, size_t cap)
{
    char path [512], cmd [2048];
    snprintf (path, sizeof path, "/tmp/kh-trust-err-%d", (int) getpid ());
    snprintf (cmd, sizeof cmd, "env -u KREISHUB_PLAIN timeout 10 '%s'/%s 2>'%s' >/dev/null",
              getenv ("KH_BIN_DIR"), args, path);
    int rc = system (cmd);
    kh_hub_slurp (path, err, cap);
    unlink (path);
    return WIFEXITED (rc) && WEXITSTATUS (rc) == status;
}

static void
test_refusals (kh_hub_t *hub)
{
    char err [4096], args [1024];
    bool ok = s_exits ("kreishub-broker --client tcp://127.0.0.1:0", 1, err, sizeof err);
    KH_CHECK ("a secure broker without certificates refuses to start and says what to give "
              "it", ok && strstr (err, "--cert FILE") && strstr (err, "--clients DIR")
              && strstr (err, "--plain"), "'%s'", err);
    snprintf (args, sizeof args, "kreishub-broker --cert '%s/server.cert' --clients "
              "/nonexistent/clients --client tcp://127.0.0.1:0", hub->certs);
    ok = s_exits (args, 1, err, sizeof err);
    KH_CHECK ("nor with a clients directory it cannot read", ok
              && strstr (err, "/nonexistent/clients"), "'%s'", err);
    ok = s_exits ("kreishub-broker --plain --client tcp://0.0.0.0:0", 1, err, sizeof err);
    KH_CHECK ("a broker in plain mode refuses an endpoint that is not a loopback one", ok
              && strstr (err, "tcp://0.0.0.0:0 is not a loopback endpoint")
              && !strstr (err, "WARNING"), "'%s'", err);
    ok = s_exits ("kreishub-recorder --plain --db /nonexistent/x.db --broker "
                  "tcp://192.0.2.1:7703", 1, err, sizeof err);
    KH_CHECK ("so does a recorder", ok && strstr (err, "not a loopback endpoint"), "'%s'",
              err);
    ok = s_exits ("kreishub-recorder --db /nonexistent/x.db --broker tcp://127.0.0.1:7703",
                  1, err, sizeof err);
    KH_CHECK ("a recorder on a tcp link without certificates refuses to start and says what "
              "to give it", ok && strstr (err, "--cert FILE") && strstr (err, "--server-cert")
              && strstr (err, "--plain"), "'%s'", err);
    snprintf (args, sizeof args, "kreishub-recorder --db /nonexistent/x.db --cert '%s/%s.cert' "
              "--server-cert '%s'", hub->certs, "05162004", hub->server_cert);
    ok = s_exits (args, 1, err, sizeof err);
    KH_CHECK ("and one whose certificate is not of role hub", ok
              && strstr (err, "is not of role hub"), "'%s'", err);
}

/* A secure hub's recorder may link over ipc://, where the link is not CurveZMQ:
   the recorder takes no certificate for it (it leaves aside those it is given) and
   connects plain, and the hub stores. */
static void
test_ipc_link (void)
{
    char dir [] = "/tmp/kh-trust-ipc-XXXXXX", link [64];
    if (!mkdtemp (dir)) {
        KH_CHECK ("a private directory for the ipc link", false, "mkdtemp");
        return;
    }
    snprintf (link, sizeof link, "ipc://%s/link", dir);
    const char *const broker_args [] = { "--recorder", link, NULL };
    kh_hub_t hub;
    int rc = kh_hub_start (&hub, broker_args, NULL);
    KH_CHECK ("a secure hub links its recorder over ipc://", rc == 0
              && strncmp (hub.recorder, "ipc://", 6) == 0, "rc %d recorder '%s'", rc,
              hub.recorder);
    kh_client_t *member = rc == 0 ? kh_hub_client (&hub, "05162024") : NULL;
    rc = member ? s_publish (member, "05162024", "Ueber ipc", S_WAIT_MS, NULL) : -1;
    KH_CHECK ("and stores", rc == 0, "rc %d", rc);
    kh_client_destroy (&member);
    KH_CHECK ("the hub with the ipc link stops cleanly", kh_hub_stop (&hub, s_failed > 0)
              == 0, "see %s", hub.dir);
    rmdir (dir);
}

/* Plain mode on loopback: it starts, says so loudly, and nobody is identified. */
static void
test_plain (void)
{
    kh_hub_t hub;
    int rc = kh_hub_start_plain (&hub, NULL, NULL);
    KH_CHECK ("a hub in plain mode starts on loopback", rc == 0, "see %s", hub.dir);
    char path [400], text [8192];
    snprintf (path, sizeof path, "%s/kreishub-broker.err", hub.dir);
    kh_hub_slurp (path, text, sizeof text);
    KH_CHECK ("the broker warns loudly that it runs in plain mode",
              strstr (text, "kreishub-broker: WARNING: PLAIN MODE"), "'%s'", text);
    snprintf (path, sizeof path, "%s/kreishub-recorder.err", hub.dir);
    kh_hub_slurp (path, text, sizeof text);
    KH_CHECK ("and so does the recorder", strstr (text, "kreishub-recorder: WARNING: PLAIN "
              "MODE"), "'%s'", text);
    kh_client_t *client = kh_hub_client (&hub, "admin");
    int sent = client ? s_publish (client, "05162008", "Ohne Identitaet", S_WAIT_MS, NULL) : -1;
    KH_CHECK ("a plain client publishes as whoever it says (for development only)",
              sent == 0, "rc %d", sent);
    kh_client_destroy (&client);
    KH_CHECK ("the plain hub stops cleanly", rc == 0 && kh_hub_stop (&hub, s_failed > 0) == 0,
              "see %s", hub.dir);
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
    test_unknown_key (&hub, admin);
    test_keygen_admitted (&hub, admin);
    test_roles (&hub, admin);
    test_revocation (&hub, admin);
    test_changed (&hub, admin);
    test_duplicate_key (&hub, admin);
    test_live (&hub);
    test_live_revoked (&hub);
    test_link (&hub, admin);
    test_refusals (&hub);
    kh_client_destroy (&admin);
    KH_CHECK ("broker and recorder stop cleanly", kh_hub_stop (&hub, s_failed > 0) == 0,
              "see logs in %s", hub.dir);
    test_ipc_link ();
    test_plain ();
    return kh_check_done ("it_trust");
}
