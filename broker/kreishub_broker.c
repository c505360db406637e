/*  kreishub_broker.c - the kreishub-broker program: options, READY line, serve, stop. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include "kh_broker.h"

/* What the command line says; NULL/unset values fall back to the config file. */
typedef struct {
    const char *config;                 /* -c FILE */
    const char *client;
    const char *live;
    const char *recorder;
    const char *pending_max;
    const char *live_hwm;
    const char *senders;
    bool        verbose;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub-broker [options]\n"
        "  -c, --config FILE     read section 'broker' of a ZPL file (flags override it)\n"
        "      --client EP       ROUTER for clients     (default %s)\n"
        "      --live EP         XPUB for subscribers   (default %s)\n"
        "      --recorder EP     ROUTER for the recorder (default %s)\n"
        "      --pending-max N   publishes waiting for the recorder, at most (default %d)\n"
        "      --live-hwm N      per-subscriber queue before drops (default %d)\n"
        "      --senders LIST    AGS keys allowed to publish, e.g. \"05162,05162004\"\n"
        "                        (default: any AGS); others are refused FORBIDDEN\n"
        "  -v, --verbose         log every error reply and subscription\n"
        "  -h, --help            this text\n"
        "Endpoints may use a wildcard port (tcp://127.0.0.1:*); the READY line on stdout\n"
        "names the ports bound.\n",
        KH_DEFAULT_CLIENT, KH_DEFAULT_LIVE, KH_DEFAULT_RECORDER, KH_BROKER_PENDING_MAX,
        KH_BROKER_LIVE_HWM);
}

/* Parses argv into args. Returns 0, 1 if help was asked for, -1 on a bad option. */
static int
s_parse (int argc, char *argv [], s_args_t *args)
{
    enum { O_CLIENT = 256, O_LIVE, O_RECORDER, O_PENDING, O_HWM, O_SENDERS };
    static const struct option options [] = {
        { "config",      required_argument, NULL, 'c' },
        { "client",      required_argument, NULL, O_CLIENT },
        { "live",        required_argument, NULL, O_LIVE },
        { "recorder",    required_argument, NULL, O_RECORDER },
        { "pending-max", required_argument, NULL, O_PENDING },
        { "live-hwm",    required_argument, NULL, O_HWM },
        { "senders",     required_argument, NULL, O_SENDERS },
        { "verbose",     no_argument,       NULL, 'v' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "c:vh", options, NULL)) != -1) {
        switch (opt) {
            case 'c':        args->config = optarg; break;
            case O_CLIENT:   args->client = optarg; break;
            case O_LIVE:     args->live = optarg; break;
            case O_RECORDER: args->recorder = optarg; break;
            case O_PENDING:  args->pending_max = optarg; break;
            case O_HWM:      args->live_hwm = optarg; break;
            case O_SENDERS:  args->senders = optarg; break;
            case 'v':        args->verbose = true; break;
            case 'h':        return 1;
            default:         return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "kreishub-broker: unexpected argument '%s'\n", argv [optind]);
        return -1;
    }
    return 0;
}

/* Reads a positive decimal number up to max into *value. Returns 0, or -1 (with a
   message naming what) if text is not one. */
static int
s_number (const char *what, const char *text, unsigned long long max, unsigned long long *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = text && *text != '-' ? strtoull (text, &end, 10) : 0;
    if (!text || !end || end == text || *end || errno || n == 0 || n > max) {
        fprintf (stderr, "kreishub-broker: %s must be a number from 1 to %llu, not '%s'\n",
                 what, max, text ? text : "");
        return -1;
    }
    *value = n;
    return 0;
}

/* Returns the value at path in the config file, or NULL (also when there is no file). */
static const char *
s_conf (zconfig_t *root, const char *path)
{
    return root ? zconfig_get (root, path, NULL) : NULL;
}

/* True if a config value means yes. */
static bool
s_truthy (const char *text)
{
    return text && (streq (text, "1") || streq (text, "true") || streq (text, "yes")
                 || streq (text, "on"));
}

/* Builds the broker configuration: defaults, then the config file, then flags.
   Returns 0, or -1 after printing why. config strings point into args or root. */
static int
s_configure (const s_args_t *args, zconfig_t *root, kh_broker_config_t *config)
{
    const char *pending = args->pending_max, *hwm = args->live_hwm;
    config->client = args->client ? args->client : s_conf (root, "broker/client");
    config->live = args->live ? args->live : s_conf (root, "broker/live");
    config->recorder = args->recorder ? args->recorder
                                      : s_conf (root, "broker/recorder");
    if (!pending)
        pending = s_conf (root, "broker/pending_max");
    if (!hwm)
        hwm = s_conf (root, "broker/live_hwm");
    config->senders = args->senders ? args->senders : s_conf (root, "broker/senders");
    config->verbose = args->verbose || s_truthy (s_conf (root, "broker/verbose"));
    unsigned long long n;
    if (pending) {
        if (s_number ("pending_max", pending, 100000000ULL, &n))
            return -1;
        config->pending_max = (size_t) n;
    }
    if (hwm) {
        if (s_number ("live_hwm", hwm, INT_MAX, &n))
            return -1;
        config->live_hwm = (int) n;
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    s_args_t args = { 0 };
    int rc = s_parse (argc, argv, &args);
    if (rc) {
        s_usage (rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    zsys_set_logident ("kreishub-broker");
    zconfig_t *root = NULL;
    if (args.config && !(root = zconfig_load (args.config))) {
        fprintf (stderr, "kreishub-broker: cannot read config file %s\n", args.config);
        return 1;
    }
    kh_broker_config_t config = { 0 };
    kh_broker_t *broker = NULL;
    if (s_configure (&args, root, &config) == 0)
        broker = kh_broker_new (&config);
    if (!broker) {
        zconfig_destroy (&root);
        return 1;
    }
    printf ("READY client=%s live=%s recorder=%s\n", kh_broker_client_endpoint (broker),
            kh_broker_live_endpoint (broker), kh_broker_recorder_endpoint (broker));
    fflush (stdout);
    rc = kh_broker_run (broker, NULL);
    kh_broker_stats_t stats;
    kh_broker_stats (broker, &stats);
    zsys_info ("broker: stopped; published=%llu acked=%llu errors=%llu subscribers=%llu "
               "stored=%llu queries=%llu ignored=%llu dropped=%llu resent=%llu",
               (unsigned long long) stats.published, (unsigned long long) stats.acked,
               (unsigned long long) stats.errors, (unsigned long long) stats.subscribers,
               (unsigned long long) stats.stored, (unsigned long long) stats.queries,
               (unsigned long long) stats.ignored, (unsigned long long) stats.dropped,
               (unsigned long long) stats.resent);
    kh_broker_destroy (&broker);
    zconfig_destroy (&root);
    return rc == 0 ? 0 : 1;
}
