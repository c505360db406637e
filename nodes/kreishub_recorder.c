/*  kreishub_recorder.c - the kreishub-recorder program: options, READY, serve, stop. */
#include "kh_cert.h"
#include "kh_conf.h"
#include "kh_daemon.h"
#include "kh_opts.h"
#include "kh_plain.h"
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
    const char *cert;
    const char *server_cert;
    bool        plain;
    bool        verbose;
    bool        rebuild_state;
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
        { "cert", 0, "FILE", &args->cert, NULL, "our certificate, of role hub, with its "
          "secret key\n(kreishub keygen --role hub)" },
        { "server-cert", 0, "FILE", &args->server_cert, NULL,
          "the broker's public certificate (server.cert)" },
        { "plain", 0, NULL, NULL, &args->plain, "no CURVE: a broker in plain mode on this "
          "machine\n(env KREISHUB_PLAIN=1)" },
        { "verbose", 'v', NULL, NULL, &args->verbose, "log every batch" },
        { "rebuild-state", 0, NULL, NULL, &args->rebuild_state, "derive the items' state "
          "and search index from the log\nagain, in one transaction, and exit (no broker "
          "is needed;\nthe recorder of the store must be stopped)" },
        { NULL }
    };
    kh_opts_t opts = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Stores what the broker hands it in SQLite and answers history queries.\n",
        .notes = "The link to a tcp:// broker is CURVE: --cert and --server-cert are needed "
                 "unless\n--plain; over ipc:// it is not (its directory must be the hub "
                 "user's alone).\n"
                 "Prints 'READY db=PATH head=SEQ broker=EP' on stdout once the store is open.\n"
                 "With --rebuild-state it prints what it derived and exits 0, or 1 if it "
                 "cannot.\n"
                 "Exit status: 0 after SIGINT/SIGTERM, 1 if the configuration is bad or the "
                 "store\nor the socket cannot be opened, 2 for bad usage, 3 after an I/O "
                 "error in a commit\n(the next start learns from the disk what it "
                 "holds).\n"
    };
    return kh_daemon_start (&opts, argc, argv, &args->config, root);
}

/* Loads the certificates for a CURVE link into config (cert: ours, of role hub;
   server_cert: the broker's). Returns 0, or -1 after saying why. */
static int
s_keys (const char *cert, const char *server_cert, kh_recorder_config_t *config)
{
    if (!cert || !server_cert) {
        fprintf (stderr, S_PROGRAM ": the link to %s is CURVE and needs %s%s%s\n"
                 S_PROGRAM ": (config keys recorder/cert, recorder/server_cert), an ipc:// "
                 "endpoint,\n" S_PROGRAM ": or --plain for development on this machine\n",
                 config->broker ? config->broker : KH_DEFAULT_RECORDER,
                 cert ? "" : "our certificate of role hub: --cert FILE",
                 cert || server_cert ? "" : ", and ",
                 server_cert ? "" : "the broker's: --server-cert FILE");
        return -1;
    }
    kh_problem_t why;
    zcert_t *server = kh_cert_load (server_cert, false, &why);
    config->cert = server ? kh_cert_load (cert, true, &why) : NULL;
    if (config->cert && kh_role_parse (zcert_meta (config->cert, KH_CERT_ROLE)) != KH_ROLE_HUB)
        snprintf (why.reason, sizeof why.reason, "%.100s is not of role hub: the broker "
                  "links only a recorder whose certificate is (kreishub keygen --role hub)",
                  cert);
    else
    if (config->cert) {
        config->server_key = strdup (zcert_public_txt (server));
        zcert_destroy (&server);
        return config->server_key ? 0 : -1;
    }
    fprintf (stderr, S_PROGRAM ": %s\n", why.reason);
    zcert_destroy (&config->cert);
    zcert_destroy (&server);
    return -1;
}

/* Decides how the recorder links to the broker: plain mode (checked and said), plain
   over ipc://, else CURVE with the certificates. Returns 0, or -1 after saying why. */
static int
s_trust (const s_args_t *args, zconfig_t *root, kh_recorder_config_t *config)
{
    const char *endpoint = config->broker ? config->broker : KH_DEFAULT_RECORDER;
    if (kh_plain_asked (args->plain, root, "recorder/plain"))
        return kh_plain_start (S_PROGRAM, &endpoint, 1);
    if (strncmp (endpoint, "ipc://", 6) == 0 || strncmp (endpoint, "inproc://", 9) == 0)
        return 0;
    return s_keys (kh_conf_get (args->cert, NULL, root, "recorder/cert", NULL),
                   kh_conf_get (args->server_cert, NULL, root, "recorder/server_cert", NULL),
                   config);
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
    return s_trust (args, root, config);
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

/* --rebuild-state: derives the state of the store the configuration names from its
   log again (kh_store_rebuild_state) and says what it found. Returns the exit
   status: 0, or KH_DAEMON_FAILED after saying why (there is no store, it cannot be
   opened, a recorder holds it, the rebuild failed and changed nothing). */
static int
s_rebuild_state (const s_args_t *args, zconfig_t *root)
{
    const char *db = kh_conf_get (args->db, NULL, root, "recorder/db", KH_RECORDER_DB);
    kh_problem_t why = { 0 };
    kh_state_counts_t counts;
    if (!zsys_file_exists (db)) {
        fprintf (stderr, S_PROGRAM ": there is no store at %s\n", db);
        return KH_DAEMON_FAILED;
    }
    kh_store_t *store = kh_store_new (db, KH_SYNC_FULL, &why);
    int rc = store ? kh_store_rebuild_state (store, &counts, &why) : -1;
    if (rc == 0)
        printf ("rebuilt the state of %s from %llu messages: %llu items, %llu messages "
                "indexed; %llu unreadable, %llu breaking a rule (they change nothing)\n",
                kh_store_path (store), (unsigned long long) counts.messages,
                (unsigned long long) counts.items, (unsigned long long) counts.indexed,
                (unsigned long long) counts.unreadable, (unsigned long long) counts.refused);
    else
        fprintf (stderr, S_PROGRAM ": %s%s\n", why.reason, why.code == KH_EBUSY
                 ? "; stop that recorder first" : "; the store is as it was");
    kh_store_destroy (&store);
    return rc == 0 ? 0 : KH_DAEMON_FAILED;
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
    if (args.rebuild_state) {
        rc = s_rebuild_state (&args, root);
        zconfig_destroy (&root);
        return rc;
    }
    kh_recorder_config_t config = { 0 };
    if (s_configure (&args, root, &config)) {
        zconfig_destroy (&root);
        return KH_DAEMON_FAILED;
    }
    kh_problem_t why = { 0 };
    kh_recorder_t *recorder = kh_recorder_new (&config, &why);
    zcert_destroy (&config.cert);       /* applied, or not needed any more */
    free ((void *) config.server_key);
    if (!recorder) {
        /* A standby stopped by SIGINT/SIGTERM while it waited: stopped as asked. */
        bool stopped = why.code == KH_EBUSY && zsys_interrupted;
        if (stopped)
            zsys_info ("%s", why.reason);
        else
            fprintf (stderr, S_PROGRAM ": %s\n", why.reason);
        zconfig_destroy (&root);
        return stopped ? 0 : KH_DAEMON_FAILED;
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
