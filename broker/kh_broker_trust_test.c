/*  kh_broker_trust_test.c - when a broker may start: secure mode needs its
    certificate and a readable clients directory, plain mode loopback endpoints, and
    a process holds one secure broker (czmq's authenticator is the process's). */
#include <unistd.h>
#include "kh_broker.h"
#include "kh_cert.h"
#include "kh_check.h"

static char s_dir [] = "/tmp/kh-broker-trust-XXXXXX";

/* A secure config on wildcard loopback ports with cert and clients. */
static kh_broker_config_t
s_config (const char *cert, const char *clients)
{
    return (kh_broker_config_t) { .client = "tcp://127.0.0.1:*", .live = "tcp://127.0.0.1:*",
                                  .recorder = "tcp://127.0.0.1:*", .cert = cert,
                                  .clients = clients };
}

static void
s_test_start (void)
{
    char cert [128], clients [128];
    kh_ident_t server = { .name = "test" };
    kh_cert_create (s_dir, "server", &server, cert, sizeof cert, NULL);
    snprintf (clients, sizeof clients, "%s/clients", s_dir);
    zsys_dir_create ("%s", clients);
    zsys_set_logstream (NULL);          /* the expected errors need not be shown */

    kh_broker_config_t config = s_config (NULL, clients);
    kh_broker_t *broker = kh_broker_new (&config);
    KH_CHECK ("a secure broker without its certificate does not start", !broker, "it did");
    config = s_config (cert, "/nonexistent/clients");
    broker = kh_broker_new (&config);
    KH_CHECK ("nor with a clients directory it cannot read", !broker, "it did");
    config = s_config ("/nonexistent/server.cert", clients);
    broker = kh_broker_new (&config);
    KH_CHECK ("nor with a certificate it cannot read", !broker, "it did");
    char pub [160];
    snprintf (pub, sizeof pub, "%s/public.cert", s_dir);
    zcert_t *lone = zcert_load (cert);
    if (lone)
        zcert_save_public (lone, pub);
    zcert_destroy (&lone);
    config = s_config (pub, clients);
    broker = kh_broker_new (&config);
    KH_CHECK ("nor with a certificate that has no secret key", !broker, "it did");

    config = (kh_broker_config_t) { .client = "tcp://0.0.0.0:*", .live = "tcp://127.0.0.1:*",
                                    .recorder = "tcp://127.0.0.1:*", .plain = true };
    broker = kh_broker_new (&config);
    KH_CHECK ("a plain broker does not bind an endpoint that is not a loopback one", !broker,
              "it did");

    config = s_config (cert, clients);
    kh_broker_t *first = kh_broker_new (&config);
    KH_CHECK ("a secure broker starts with both", first, "it did not");
    kh_broker_t *second = kh_broker_new (&config);
    KH_CHECK ("a second secure broker in the same process does not start (one zauth per "
              "process), and nothing aborts", !second, "it did");
    kh_broker_config_t plain = { .client = "tcp://127.0.0.1:*", .live = "tcp://127.0.0.1:*",
                                 .recorder = "tcp://127.0.0.1:*", .plain = true };
    kh_broker_t *beside = kh_broker_new (&plain);
    KH_CHECK ("a plain broker on loopback starts beside it", beside, "it did not");
    kh_broker_destroy (&beside);
    kh_broker_destroy (&first);
    second = kh_broker_new (&config);
    KH_CHECK ("once the first is gone, a secure broker starts again", second, "it did not");
    kh_broker_destroy (&second);
    zsys_set_logstream (stderr);
}

int
main (void)
{
    zsys_init ();
    if (!mkdtemp (s_dir)) {
        printf ("FAIL cannot make %s\n", s_dir);
        return 1;
    }
    s_test_start ();
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        printf ("broker_trust_test: cannot remove %s\n", s_dir);
    return kh_check_done ("broker_trust_test");
}
