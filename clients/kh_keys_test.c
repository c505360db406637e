/*  kh_keys_test.c - kh_keys_t and the secure client and subscriber against a fake hub
    that serves CURVE, with this test's zauth admitting the certificates of a
    directory: what is admitted is answered and known by its certificate's ags; a key
    not admitted, a plain client and a client that expects another hub are not. */
#include <unistd.h>
#include "kh_cert.h"
#include "kh_check.h"
#include "kh_client_priv.h"
#include "kh_fake_hub.h"
#include "kreishub/kreishub.h"

#define S_AGS       "05162012"
#define S_NO_MS     300             /* a hub that does not answer: given up after this */

/* Paths of the test's certificates, in a temporary directory. */
typedef struct {
    char dir [64];
    char clients [128];             /* what zauth admits */
    char server [128];              /* the hub's pair: server.cert */
    char member [128];              /* admitted: S_AGS.cert */
    char stranger [128];            /* not admitted */
    char other [128];               /* another hub's public certificate */
} s_paths_t;

/* Makes a certificate pair in dir named base; copies its public part into clients
   if admit. Writes the public file's path into path. Returns 0 or -1. */
static int
s_make (const s_paths_t *p, const char *base, const kh_ident_t *ident, bool admit,
        char *path, size_t cap)
{
    kh_problem_t why;
    if (kh_cert_create (p->dir, base, ident, path, cap, &why)) {
        printf ("cannot make %s: %s\n", base, why.reason);
        return -1;
    }
    zcert_t *cert = admit ? zcert_load (path) : NULL;
    char copy [256];
    snprintf (copy, sizeof copy, "%s/%s.cert", p->clients, base);
    int rc = admit && (!cert || zcert_save_public (cert, copy)) ? -1 : 0;
    zcert_destroy (&cert);
    return rc;
}

static int
s_paths (s_paths_t *p)
{
    snprintf (p->dir, sizeof p->dir, "/tmp/kh-keys-test-XXXXXX");
    if (!mkdtemp (p->dir))
        return -1;
    snprintf (p->clients, sizeof p->clients, "%s/clients", p->dir);
    kh_ident_t member = { .ags = S_AGS, .name = "J\xc3\xbc" "chen",
                          .role = KH_ROLE_MUNICIPALITY };
    kh_ident_t server = { .name = "hub" };
    return zsys_dir_create ("%s", p->clients)
        || s_make (p, "server", &server, false, p->server, sizeof p->server)
        || s_make (p, "other", &server, false, p->other, sizeof p->other)
        || s_make (p, S_AGS, &member, true, p->member, sizeof p->member)
        || s_make (p, "stranger", &member, false, p->stranger, sizeof p->stranger) ? -1 : 0;
}

static void
s_test_load (const s_paths_t *p)
{
    kh_problem_t why = { 0 };
    kh_keys_t *keys = kh_keys_load (p->member, p->server, &why);
    KH_CHECK ("keys load from our certificate and the hub's", keys, "%s", why.reason);
    KH_CHECK ("they tell what our certificate says", streq (kh_keys_ags (keys), S_AGS)
              && streq (kh_keys_name (keys), "J\xc3\xbc" "chen")
              && streq (kh_keys_role (keys), "municipality")
              && strlen (kh_keys_public (keys)) == 40, "%s %s %s", kh_keys_ags (keys),
              kh_keys_name (keys), kh_keys_role (keys));
    kh_keys_destroy (&keys);
    kh_keys_destroy (&keys);
    KH_CHECK ("no keys tell nothing", streq (kh_keys_ags (NULL), "")
              && streq (kh_keys_public (NULL), ""), "they do");

    keys = kh_keys_load (p->server, p->member, &why);
    KH_CHECK ("what a certificate does not say is empty", keys
              && streq (kh_keys_ags (keys), "") && streq (kh_keys_role (keys), "")
              && streq (kh_keys_name (keys), "hub"), "%s", why.reason);
    kh_keys_destroy (&keys);
    char lone [256];
    snprintf (lone, sizeof lone, "%s/%s.cert", p->clients, S_AGS);
    keys = kh_keys_load (lone, p->server, &why);
    KH_CHECK ("a public certificate alone is not ours to connect with", !keys
              && why.code == KH_EVALUE && strstr (why.reason, "no secret key"), "%s",
              why.reason);
    keys = kh_keys_load (p->member, "/nonexistent/server.cert", &why);
    KH_CHECK ("a hub certificate that cannot be read is named", !keys && why.code == KH_EIO
              && strstr (why.reason, "/nonexistent/server.cert"), "%s", why.reason);
    keys = kh_keys_load (NULL, p->server, &why);
    KH_CHECK ("no certificate is a bad argument", !keys && why.code == KH_EINVAL, "%s",
              why.reason);
    KH_CHECK ("no keys make no secure client or subscriber",
              !kh_client_new_secure ("tcp://127.0.0.1:1", NULL)
              && !kh_subscriber_new_secure ("tcp://127.0.0.1:1", "tcp://127.0.0.1:2", NULL,
                                            NULL, NULL, 0), "made");
}

/* Publishes one idea from S_AGS with client. Returns what kh_client_publish did. */
static int
s_publish (kh_client_t *client, int timeout)
{
    kh_builder_t *builder = kh_builder_new ("idea");
    kh_problem_t why;
    uint8_t id [KH_ID_SIZE];
    kh_id_new (id);
    msgpack_sbuffer env;
    msgpack_sbuffer_init (&env);
    kh_builder_set (builder, "title", "sicher", &why);
    kh_builder_pack (builder, id, S_AGS, kh_now_ms (), &env, &why);
    int rc = kh_client_publish (client, env.data, env.size, timeout, 0, NULL, NULL, NULL);
    msgpack_sbuffer_destroy (&env);
    kh_builder_destroy (&builder);
    return rc;
}

/* Pings the hub with a client made of cert and server (plain if cert is NULL).
   Returns what kh_client_ping did. */
static int
s_ping_as (kh_fake_hub_t *hub, const char *cert, const char *server)
{
    kh_keys_t *keys = cert ? kh_keys_load (cert, server, NULL) : NULL;
    kh_client_t *client = cert ? kh_client_new_secure (hub->client, keys)
                               : kh_client_new (hub->client);
    int rc = client ? kh_client_ping (client, S_NO_MS, NULL, NULL) : -1;
    kh_client_destroy (&client);
    kh_keys_destroy (&keys);
    return rc;
}

static void
s_test_client (kh_fake_hub_t *hub, const s_paths_t *p)
{
    kh_keys_t *keys = kh_keys_load (p->member, p->server, NULL);
    kh_client_t *client = kh_client_new_secure (hub->client, keys);
    kh_keys_destroy (&keys);            /* the client keeps what it needs */
    int rc = client ? kh_client_ping (client, 5000, NULL, NULL) : -1;
    KH_CHECK ("an admitted certificate is answered", rc == 0, "rc %d", rc);
    rc = client ? s_publish (client, 5000) : -1;
    char who [16];
    kh_fake_hub_who (hub, who, sizeof who);
    KH_CHECK ("and the hub knows it by its certificate's ags", rc == 0 && streq (who, S_AGS),
              "rc %d who '%s'", rc, who);
    kh_client_destroy (&client);

    rc = s_ping_as (hub, p->stranger, p->server);
    KH_CHECK ("a key the hub does not admit gets no answer", rc == KH_ETIMEOUT, "rc %d", rc);
    rc = s_ping_as (hub, NULL, NULL);
    KH_CHECK ("a plain client gets no answer from a secure hub", rc == KH_ETIMEOUT, "rc %d",
              rc);
    rc = s_ping_as (hub, p->member, p->other);
    KH_CHECK ("a client that expects another hub's key gets no answer", rc == KH_ETIMEOUT,
              "rc %d", rc);
}

static void
s_test_subscriber (kh_fake_hub_t *hub, const s_paths_t *p)
{
    kh_keys_t *keys = kh_keys_load (p->member, p->server, NULL);
    uint64_t first = kh_fake_hub_add (hub, "idea", S_AGS);
    kh_fake_hub_add (hub, "offer", S_AGS);
    kh_subscriber_t *sub = kh_subscriber_new_secure (hub->client, hub->live, keys, NULL,
                                                     NULL, first);
    kh_keys_destroy (&keys);
    kh_record_t rec;
    int rc = sub ? kh_subscriber_next (sub, 5000, &rec) : -1;
    KH_CHECK ("a secure subscriber catches up from the store", rc == 0
              && rec.info.seq == first, "rc %d", rc);
    rc = sub ? kh_subscriber_next (sub, 5000, &rec) : -1;
    KH_CHECK ("record by record", rc == 0 && rec.info.seq == first + 1, "rc %d", rc);
    bool heard = false;
    for (int i = 0; sub && i < 100 && !heard; i++) {
        kh_fake_hub_beat (hub);
        kh_subscriber_next (sub, 50, &rec);
        heard = kh__subscriber_heard (sub);
    }
    uint64_t live = kh_fake_hub_add (hub, "idea", S_AGS);
    kh_fake_hub_live (hub, live);
    rc = sub ? kh_subscriber_next (sub, 5000, &rec) : -1;
    KH_CHECK ("and then follows the live endpoint over CURVE", heard && rc == 0
              && rec.info.seq == live, "heard %d rc %d", heard, rc);
    kh_subscriber_destroy (&sub);
}

int
main (void)
{
    zsys_init ();
    s_paths_t paths;
    if (s_paths (&paths)) {
        printf ("FAIL certificates for the test\n");
        return 1;
    }
    s_test_load (&paths);
    zactor_t *auth = zactor_new (zauth, NULL);
    zstr_sendx (auth, "CURVE", paths.clients, NULL);
    zsock_wait (auth);
    kh_fake_hub_t hub;
    if (kh_fake_hub_start_secure (&hub, paths.server) == 0) {
        s_test_client (&hub, &paths);
        s_test_subscriber (&hub, &paths);
        kh_fake_hub_stop (&hub);
    }
    else
        KH_CHECK ("the fake hub starts with CURVE", false, "it did not");
    zactor_destroy (&auth);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", paths.dir);
    if (system (cmd) != 0)
        printf ("cannot remove %s\n", paths.dir);
    return kh_check_done ("keys_test");
}
