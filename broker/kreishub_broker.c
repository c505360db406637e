/*  kreishub_broker.c - the kreishub-broker program: options, READY line, serve, stop. */
#include <limits.h>
#include "kh_broker.h"
#include "kh_conf.h"
#include "kh_daemon.h"
#include "kh_opts.h"
#include "kh_plain.h"
#include "kh_ready.h"
#include "kh_value.h"

#define S_PROGRAM   "kreishub-broker"

/* What the command line says; NULL/unset values fall back to the config file. */
typedef struct {
    const char *config;                 /* -c FILE */
    const char *client;
    const char *live;
    const char *recorder;
    const char *pending_max;
    const char *connection_pending;
    const char *live_hwm;
    const char *senders;
    const char *cert;
    const char *clients;
    bool        plain;
    bool        verbose;
} s_args_t;

/* Parses argv into args and starts the daemon with the config file it names
   (kh_daemon_start). Returns KH_DAEMON_GO, or the exit status. */
static int
s_start (int argc, char *argv [], s_args_t *args, zconfig_t **root)
{
    const kh_opt_t table [] = {
        { "config", 'c', "FILE", &args->config, NULL,
          "read section 'broker' of a ZPL file (flags override it)" },
        { "client", 0, "EP", &args->client, NULL,
          "ROUTER for clients     (default " KH_DEFAULT_CLIENT ")" },
        { "live", 0, "EP", &args->live, NULL,
          "XPUB for subscribers   (default " KH_DEFAULT_LIVE ")" },
        { "recorder", 0, "EP", &args->recorder, NULL,
          "ROUTER for the recorder (default " KH_DEFAULT_RECORDER ")" },
        { "pending-max", 0, "N", &args->pending_max, NULL, "publishes waiting for the "
          "recorder, at most (default " KH_STR (KH_BROKER_PENDING_MAX) ")" },
        { "connection-pending", 0, "N", &args->connection_pending, NULL, "publishes of one "
          "connection waiting, at most;\nmore are refused BUSY (default "
          KH_STR (KH_BROKER_CONNECTION_PENDING) ")" },
        { "live-hwm", 0, "N", &args->live_hwm, NULL,
          "per-subscriber queue before drops (default " KH_STR (KH_BROKER_LIVE_HWM) ")" },
        { "cert", 0, "FILE", &args->cert, NULL,
          "the broker's certificate with its secret key\n"
          "(kreishub keygen --server: server.cert_secret)" },
        { "clients", 0, "DIR", &args->clients, NULL,
          "the directory of the certificates admitted: each\n"
          "NAME.cert in it (members, Kreis, admins, the hub's)" },
        { "plain", 0, NULL, NULL, &args->plain,
          "no CURVE, nobody identified: loopback endpoints only,\n"
          "for development (env KREISHUB_PLAIN=1)" },
        { "senders", 0, "LIST", &args->senders, NULL,
          "AGS keys allowed to publish, e.g. \"05162,05162004\"\n"
          "(default: any AGS); others are refused FORBIDDEN" },
        { "verbose", 'v', NULL, NULL, &args->verbose,
          "log every error reply and subscription" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = S_PROGRAM, .table = table, .version = true,
        .notes = "Endpoints may use a wildcard port (tcp://127.0.0.1:*); the READY line on "
                 "stdout\nnames the ports bound. Every endpoint is CURVE unless --plain; "
                 "the recorder's\nover ipc:// is not (its directory must be the hub "
                 "user's alone). Removing a\ncertificate from DIR refuses its holder "
                 "within a second.\n"
                 "Exit status: 0 after SIGINT/SIGTERM, 1 if the configuration is bad or an\n"
                 "endpoint cannot be bound, 2 for bad usage.\n"
    };
    return kh_daemon_start (&opts, argc, argv, &args->config, root);
}

/* Checks that the broker can start as config asks: in plain mode on loopback
   endpoints (and warns), else with the certificates it needs. Returns 0, or -1
   after saying what to give it. */
static int
s_trust (const kh_broker_config_t *config)
{
    if (config->plain) {
        const char *endpoints [3] = {
            config->client ? config->client : KH_DEFAULT_CLIENT,
            config->live ? config->live : KH_DEFAULT_LIVE,
            config->recorder ? config->recorder : KH_DEFAULT_RECORDER };
        return kh_plain_start (S_PROGRAM, endpoints, 3);
    }
    if (config->cert && config->clients)
        return 0;
    fprintf (stderr, S_PROGRAM ": a secure broker needs %s%s%s\n"
             S_PROGRAM ": (both made by kreishub keygen; config keys broker/cert, "
             "broker/clients),\n" S_PROGRAM ": or --plain for development on this "
             "machine\n", config->cert ? "" : "its certificate: --cert FILE",
             config->cert || config->clients ? "" : ", and ",
             config->clients ? "" : "the certificates it admits: --clients DIR");
    return -1;
}

/* Builds the broker configuration: defaults, then the config file, then flags.
   Returns 0, or -1 after printing why. config strings point into args or root. */
static int
s_configure (const s_args_t *args, zconfig_t *root, kh_broker_config_t *config)
{
    const char *pending = kh_conf_get (args->pending_max, NULL, root, "broker/pending_max",
                                       NULL);
    const char *connection = kh_conf_get (args->connection_pending, NULL, root,
                                          "broker/connection_pending", NULL);
    const char *hwm = kh_conf_get (args->live_hwm, NULL, root, "broker/live_hwm", NULL);
    config->client = kh_conf_get (args->client, NULL, root, "broker/client", NULL);
    config->live = kh_conf_get (args->live, NULL, root, "broker/live", NULL);
    config->recorder = kh_conf_get (args->recorder, NULL, root, "broker/recorder", NULL);
    config->senders = kh_conf_get (args->senders, NULL, root, "broker/senders", NULL);
    config->cert = kh_conf_get (args->cert, NULL, root, "broker/cert", NULL);
    config->clients = kh_conf_get (args->clients, NULL, root, "broker/clients", NULL);
    config->plain = kh_plain_asked (args->plain, root, "broker/plain");
    config->verbose = args->verbose
                   || kh_value_yes (kh_conf_get (NULL, NULL, root, "broker/verbose", NULL));
    uint64_t n;
    if (pending) {
        if (kh_value_number (S_PROGRAM, "pending_max", pending, 1, 100000000, &n))
            return -1;
        config->pending_max = (size_t) n;
    }
    if (connection) {
        if (kh_value_number (S_PROGRAM, "connection_pending", connection, 1, 100000000, &n))
            return -1;
        config->connection_pending = (size_t) n;
    }
    if (hwm) {
        if (kh_value_number (S_PROGRAM, "live_hwm", hwm, 1, INT_MAX, &n))
            return -1;
        config->live_hwm = (int) n;
    }
    return s_trust (config);
}

/* Logs what the broker did, for the operator reading stderr after a stop. */
static void
s_log_stats (kh_broker_t *broker)
{
    kh_broker_stats_t stats;
    kh_broker_stats (broker, &stats);
    zsys_info ("broker: stopped; published=%llu acked=%llu errors=%llu subscribers=%llu "
               "stored=%llu queries=%llu ignored=%llu dropped=%llu resent=%llu",
               (unsigned long long) stats.published, (unsigned long long) stats.acked,
               (unsigned long long) stats.errors, (unsigned long long) stats.subscribers,
               (unsigned long long) stats.stored, (unsigned long long) stats.queries,
               (unsigned long long) stats.ignored, (unsigned long long) stats.dropped,
               (unsigned long long) stats.resent);
}

int
main (int argc, char *argv [])
{
    s_args_t args = { 0 };
    zconfig_t *root = NULL;
    int rc = s_start (argc, argv, &args, &root);
    if (rc != KH_DAEMON_GO)
        return rc;
    kh_broker_config_t config = { 0 };
    kh_broker_t *broker = NULL;
    if (s_configure (&args, root, &config) == 0)
        broker = kh_broker_new (&config);
    if (!broker) {
        zconfig_destroy (&root);
        return KH_DAEMON_FAILED;
    }
    kh_ready_print (stdout, "client", kh_broker_client_endpoint (broker),
                    "live", kh_broker_live_endpoint (broker),
                    "recorder", kh_broker_recorder_endpoint (broker), NULL);
    rc = kh_broker_run (broker, NULL);
    s_log_stats (broker);
    kh_broker_destroy (&broker);
    zconfig_destroy (&root);
    return rc == 0 ? 0 : KH_DAEMON_FAILED;
}
