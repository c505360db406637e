/*  kreishub_recorder.c - the kreishub-recorder program: options, READY, serve, stop. */
#include <errno.h>
#include <getopt.h>
#include "kh_recorder.h"

/* What the command line says; NULL/unset values fall back to the config file. */
typedef struct {
    const char *config;                 /* -c FILE */
    const char *broker;
    const char *db;
    const char *sync;
    const char *batch_max;
    bool        verbose;
} s_args_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub-recorder [options]\n"
        "Stores what the broker hands it in SQLite and answers history queries.\n"
        "  -c, --config FILE     read section 'recorder' of a ZPL file (flags win)\n"
        "      --broker EP       the broker's recorder endpoint (default %s)\n"
        "      --db PATH         the store; its directory is created if missing\n"
        "                        (default %s)\n"
        "      --sync MODE       full: fsync the WAL before every answer (default);\n"
        "                        normal: survives a crash, not a power cut;\n"
        "                        off: for benchmarks only\n"
        "      --batch-max N     STOREs per transaction, at most (default %d)\n"
        "  -v, --verbose         log every batch\n"
        "  -h, --help            this text\n"
        "Prints 'READY db=PATH head=SEQ broker=EP' on stdout once the store is open.\n"
        "Exit status: 0 after SIGINT/SIGTERM, 1 if the configuration is bad or the store\n"
        "or the socket cannot be opened, 2 for an unknown option.\n",
        KH_DEFAULT_RECORDER, KH_RECORDER_DB, KH_RECORDER_BATCH_MAX);
}

/* Parses argv into args. Returns 0, 1 if help was asked for, -1 on a bad option. */
static int
s_parse (int argc, char *argv [], s_args_t *args)
{
    enum { OPT_BROKER = 256, OPT_DB, OPT_SYNC, OPT_BATCH };
    static const struct option options [] = {
        { "config",    required_argument, NULL, 'c' },
        { "broker",    required_argument, NULL, OPT_BROKER },
        { "db",        required_argument, NULL, OPT_DB },
        { "sync",      required_argument, NULL, OPT_SYNC },
        { "batch-max", required_argument, NULL, OPT_BATCH },
        { "verbose",   no_argument,       NULL, 'v' },
        { "help",      no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "c:vh", options, NULL)) != -1) {
        switch (opt) {
            case 'c':      args->config = optarg; break;
            case OPT_BROKER: args->broker = optarg; break;
            case OPT_DB:     args->db = optarg; break;
            case OPT_SYNC:   args->sync = optarg; break;
            case OPT_BATCH:  args->batch_max = optarg; break;
            case 'v':      args->verbose = true; break;
            case 'h':      return 1;
            default:       return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "kreishub-recorder: unexpected argument '%s'\n", argv [optind]);
        return -1;
    }
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

/* Reads a batch size from 1 to KH_RECORDER_BATCH_LIMIT. Returns 0, or -1 after
   saying why. */
static int
s_batch (const char *text, size_t *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = *text != '-' ? strtoull (text, &end, 10) : 0;
    if (!end || end == text || *end || errno || n == 0 || n > KH_RECORDER_BATCH_LIMIT) {
        fprintf (stderr, "kreishub-recorder: batch_max must be a number from 1 to %d, "
                 "not '%s'\n", KH_RECORDER_BATCH_LIMIT, text);
        return -1;
    }
    *value = (size_t) n;
    return 0;
}

/* Builds the recorder configuration: defaults, then the config file, then flags.
   Returns 0, or -1 after printing why. Strings point into args or root. */
static int
s_configure (const s_args_t *args, zconfig_t *root, kh_recorder_config_t *config)
{
    const char *sync = args->sync ? args->sync : s_conf (root, "recorder/sync");
    const char *batch = args->batch_max ? args->batch_max
                                        : s_conf (root, "recorder/batch_max");
    config->broker = args->broker ? args->broker : s_conf (root, "recorder/broker");
    config->db = args->db ? args->db : s_conf (root, "recorder/db");
    config->verbose = args->verbose || s_truthy (s_conf (root, "recorder/verbose"));
    config->sync = KH_STORE_SYNC_FULL;
    if (sync && kh_store_sync_parse (sync, &config->sync)) {
        fprintf (stderr, "kreishub-recorder: sync must be full, normal or off, not '%s'\n",
                 sync);
        return -1;
    }
    return batch ? s_batch (batch, &config->batch_max) : 0;
}

/* Logs what the recorder did, for the operator reading stderr after a stop. */
static void
s_log_stats (kh_recorder_t *recorder)
{
    kh_recorder_stats_t stats;
    kh_recorder_stats (recorder, &stats);
    zsys_info ("recorder: stopped at head %llu; batches=%llu stored=%llu dups=%llu "
               "failed=%llu queries=%llu ignored=%llu dropped=%llu",
               (unsigned long long) kh_recorder_head (recorder),
               (unsigned long long) stats.batches, (unsigned long long) stats.stored,
               (unsigned long long) stats.dups, (unsigned long long) stats.failed,
               (unsigned long long) stats.queries, (unsigned long long) stats.ignored,
               (unsigned long long) stats.dropped);
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
    zsys_set_logident ("kreishub-recorder");
    zconfig_t *root = NULL;
    if (args.config && !(root = zconfig_load (args.config))) {
        fprintf (stderr, "kreishub-recorder: cannot read config file %s\n", args.config);
        return 1;
    }
    kh_recorder_config_t config = { 0 };
    if (s_configure (&args, root, &config)) {
        zconfig_destroy (&root);
        return 1;
    }
    kh_problem_t why = { 0 };
    kh_recorder_t *recorder = kh_recorder_new (&config, &why);
    if (!recorder) {
        fprintf (stderr, "kreishub-recorder: %s\n", why.reason);
        zconfig_destroy (&root);
        return 1;
    }
    printf ("READY db=%s head=%llu broker=%s\n", kh_recorder_db (recorder),
            (unsigned long long) kh_recorder_head (recorder),
            kh_recorder_endpoint (recorder));
    fflush (stdout);
    zsys_info ("recorder: store %s at head %llu, broker %s", kh_recorder_db (recorder),
               (unsigned long long) kh_recorder_head (recorder),
               kh_recorder_endpoint (recorder));
    rc = kh_recorder_run (recorder, NULL);
    s_log_stats (recorder);
    kh_recorder_destroy (&recorder);
    zconfig_destroy (&root);
    return rc == 0 ? 0 : 1;
}
