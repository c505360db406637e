/*  kreishub_recorder.c - the kreishub-recorder program: options, READY, serve, stop. */
#include "kh_conf.h"
#include "kh_daemon.h"
#include "kh_opts.h"
#include "kh_ready.h"
#include "kh_recorder.h"
#include "kh_sync.h"
#include "kh_value.h"
#ifdef KH_FAULT_VFS                     /* tests only: the store's disk lies (kh_testvfs.h) */
#   include "kh_testvfs.h"
#endif

#define S_PROGRAM   "kreishub-recorder"

/* What the command line says; NULL/unset values fall back to the config file. */
typedef struct {
    const char *config;                 /* -c FILE */
    const char *broker;
    const char *db;
    const char *sync;
    const char *batch_max;
    bool        verbose;
} s_args_t;

/* Parses argv into args and starts the daemon with the config file it names
   (kh_daemon_start). Returns KH_DAEMON_GO, or the exit status. */
static int
s_start (int argc, char *argv [], s_args_t *args, zconfig_t **root)
{
    const kh_opt_t table [] = {
        { "config", 'c', "FILE", &args->config, NULL,
          "read section 'recorder' of a ZPL file (flags win)" },
        { "broker", 0, "EP", &args->broker, NULL,
          "the broker's recorder endpoint (default " KH_DEFAULT_RECORDER ")" },
        { "db", 0, "PATH", &args->db, NULL, "the store; its directory is created if "
          "missing\n(default " KH_RECORDER_DB ")" },
        { "sync", 0, "MODE", &args->sync, NULL,
          "full: fsync the WAL before every answer (default);\n"
          "normal: survives a crash, not a power cut;\n"
          "off: for benchmarks only" },
        { "batch-max", 0, "N", &args->batch_max, NULL,
          "STOREs per transaction, at most (default " KH_STR (KH_RECORDER_BATCH_MAX) ")" },
        { "verbose", 'v', NULL, NULL, &args->verbose, "log every batch" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Stores what the broker hands it in SQLite and answers history queries.\n",
        .notes = "Prints 'READY db=PATH head=SEQ broker=EP' on stdout once the store is open.\n"
                 "Exit status: 0 after SIGINT/SIGTERM, 1 if the configuration is bad or the "
                 "store\nor the socket cannot be opened, 2 for bad usage.\n"
    };
    return kh_daemon_start (&opts, argc, argv, &args->config, root);
}

/* Builds the recorder configuration: defaults, then the config file, then flags.
   Returns 0, or -1 after printing why. Strings point into args or root. */
static int
s_configure (const s_args_t *args, zconfig_t *root, kh_recorder_config_t *config)
{
    const char *sync = kh_conf_get (args->sync, NULL, root, "recorder/sync", NULL);
    const char *batch = kh_conf_get (args->batch_max, NULL, root, "recorder/batch_max", NULL);
    config->broker = kh_conf_get (args->broker, NULL, root, "recorder/broker", NULL);
    config->db = kh_conf_get (args->db, NULL, root, "recorder/db", NULL);
    config->verbose = args->verbose
                   || kh_value_yes (kh_conf_get (NULL, NULL, root, "recorder/verbose", NULL));
    config->sync = KH_SYNC_FULL;
    if (sync && kh_sync_parse (sync, &config->sync)) {
        fprintf (stderr, S_PROGRAM ": sync must be " KH_SYNC_CHOICES ", not '%s'\n", sync);
        return -1;
    }
    uint64_t n;
    if (batch && kh_value_number (S_PROGRAM, "batch_max", batch, 1, KH_RECORDER_BATCH_LIMIT,
                                  &n))
        return -1;
    if (batch)
        config->batch_max = (size_t) n;
    return 0;
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
#ifdef KH_FAULT_VFS
    if (kh_testvfs_install_env ())
        return KH_DAEMON_FAILED;
#endif
    s_args_t args = { 0 };
    zconfig_t *root = NULL;
    int rc = s_start (argc, argv, &args, &root);
    if (rc != KH_DAEMON_GO)
        return rc;
    kh_recorder_config_t config = { 0 };
    if (s_configure (&args, root, &config)) {
        zconfig_destroy (&root);
        return KH_DAEMON_FAILED;
    }
    kh_problem_t why = { 0 };
    kh_recorder_t *recorder = kh_recorder_new (&config, &why);
    if (!recorder) {
        fprintf (stderr, S_PROGRAM ": %s\n", why.reason);
        zconfig_destroy (&root);
        return KH_DAEMON_FAILED;
    }
    char head [24];
    snprintf (head, sizeof head, "%llu", (unsigned long long) kh_recorder_head (recorder));
    kh_ready_print (stdout, "db", kh_recorder_db (recorder), "head", head,
                    "broker", kh_recorder_endpoint (recorder), NULL);
    zsys_info ("recorder: store %s at head %s, broker %s", kh_recorder_db (recorder), head,
               kh_recorder_endpoint (recorder));
    rc = kh_recorder_run (recorder, NULL);
    s_log_stats (recorder);
    kh_recorder_destroy (&recorder);
    zconfig_destroy (&root);
    return rc == 0 ? 0 : rc == KH_RECORDER_LOST ? KH_RECORDER_LOST : KH_DAEMON_FAILED;
}
