/*  kh_bench.c - kreishub-bench: options, the machine, the hubs under test (plain,
    secure with the certificates it makes, or both), the workloads in order, and an
    exit status that fails when any count is not exact. */
#include <libgen.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"
#include "kh_cert.h"
#include "kh_launch.h"
#include "kh_opts.h"
#include "kh_sync.h"
#include "kh_value.h"

#define S_PROGRAM   "kreishub-bench"

#ifdef KH_HAVE_MOSQUITTO
#   define S_MOSQUITTO_NOTE ""
#else
#   define S_MOSQUITTO_NOTE " (not built in: no libmosquitto)"
#endif

/* The options as given, before they are read into kh_bench_opts_t. */
typedef struct {
    const char *workload, *publishers, *messages, *size, *window, *replay, *sync, *timeout;
    const char *curve;
} s_given_t;

/* Reads a number option (text; NULL: not given, *value stays) from min to max.
   Returns 0, or -1 after saying why. */
static int
s_number (const char *name, const char *text, uint64_t min, uint64_t max, uint32_t *value)
{
    uint64_t n;
    if (!text)
        return 0;
    if (kh_value_number (S_PROGRAM, name, text, min, max, &n))
        return -1;
    *value = (uint32_t) n;
    return 0;
}

/* Reads the options given into opts. Returns 0, or -1 after saying why. */
static int
s_read (const s_given_t *given, kh_bench_opts_t *opts)
{
    static const char *const workloads [] = { "w1", "w2", "all", NULL };
    int workload = given->workload ? kh_value_choice (given->workload, workloads) : 2;
    if (workload < 0) {
        fprintf (stderr, S_PROGRAM ": --workload is w1, w2 or all\n");
        return -1;
    }
    opts->w1 = workload != 1;
    opts->w2 = workload != 0;
    static const char *const curves [] = { "both", "on", "off", NULL };
    int curve = given->curve ? kh_value_choice (given->curve, curves) : 0;
    if (curve < 0) {
        fprintf (stderr, S_PROGRAM ": --curve is both, on or off\n");
        return -1;
    }
    opts->plain = curve != 1;
    opts->curve = curve != 2;
    kh_sync_t mode = KH_SYNC_FULL;
    if (given->sync && kh_sync_parse (given->sync, &mode)) {
        fprintf (stderr, S_PROGRAM ": --sync is " KH_SYNC_CHOICES "\n");
        return -1;
    }
    opts->sync = kh_sync_name (mode);
    uint32_t publishers = (uint32_t) opts->publishers, timeout = (uint32_t) opts->timeout_s;
    if (s_number ("--publishers", given->publishers, 1, 64, &publishers)
    ||  s_number ("--messages", given->messages, 1, 100000000, &opts->messages)
    ||  s_number ("--size", given->size, 64, 8192, &opts->size)
    ||  s_number ("--window", given->window, 1, 100000, &opts->window)
    ||  s_number ("--replay", given->replay, 1, 100000000, &opts->replay)
    ||  s_number ("--timeout", given->timeout, 1, 86400, &timeout))
        return -1;
    opts->publishers = (int) publishers;
    opts->timeout_s = (int) timeout;
    return 0;
}

/* Parses argv into opts. Returns what kh_opts_parse returned (KH_OPTS_BAD also for
   a value that is refused). */
static int
s_parse (int argc, char *argv [], kh_bench_opts_t *opts)
{
    s_given_t given = { NULL };
    const kh_opt_t table [] = {
        { "workload", 'w', "W", &given.workload, NULL, "w1, w2 or all (default all)" },
        { "publishers", 0, "N", &given.publishers, NULL, "publisher threads (default 4)" },
        { "messages", 0, "N", &given.messages, NULL,
          "messages per publisher (default 50000)" },
        { "size", 0, "BYTES", &given.size, NULL, "envelope size (default 1024)" },
        { "window", 0, "N", &given.window, NULL,
          "unacknowledged publishes per publisher (default 1000)" },
        { "replay", 0, "N", &given.replay, NULL,
          "rows W2 replays from seq 1 (default 200000)" },
        { "sync", 0, "MODE", &given.sync, NULL,
          "recorder's --sync: full, normal or off (default full)" },
        { "curve", 0, "C", &given.curve, NULL,
          "both: W1 on a plain hub and on a secure (CURVE) one,\n"
          "on: a secure hub only, off: a plain one (default both)" },
        { "mosquitto", 0, NULL, NULL, &opts->mosquitto,
          "also run W1 against Mosquitto at QoS 1" S_MOSQUITTO_NOTE },
        { "bin", 0, "DIR", &opts->bin, NULL, "where kreishub-broker and -recorder are\n"
          "(default: this program's directory)" },
        { "timeout", 0, "S", &given.timeout, NULL,
          "a workload taking longer fails (default 600)" },
        { "keep", 0, NULL, NULL, &opts->keep, "keep the hub's data directory" },
        { NULL }
    };
    kh_opts_t usage = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Starts kreishub-broker and kreishub-recorder on loopback ports and "
                 "measures them.\n",
        .notes = "Exits 0 only if every message was acked and delivered exactly once and "
                 "every\nreplay saw exactly the rows asked for, in order.\n"
    };
    int rc = kh_opts_parse (&usage, argc, argv, NULL);
    if (rc == KH_OPTS_GO && s_read (&given, opts)) {
        kh_opts_usage (&usage, stderr);
        rc = KH_OPTS_BAD;
    }
    return rc;
}

/* Writes --bin or this program's directory into dir and checks that both programs
   are there. Returns 0, or -1 after printing why. */
static int
s_bin_dir (const kh_bench_opts_t *opts, char *dir, size_t cap)
{
    char self [PATH_MAX] = "";
    if (opts->bin)
        snprintf (dir, cap, "%s", opts->bin);
    else {
        ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0) {
            fprintf (stderr, S_PROGRAM ": cannot read /proc/self/exe; use --bin\n");
            return -1;
        }
        self [len] = 0;
        snprintf (dir, cap, "%s", dirname (self));
    }
    const char *progs [] = { "kreishub-broker", "kreishub-recorder" };
    for (size_t i = 0; i < sizeof progs / sizeof progs [0]; i++) {
        char path [PATH_MAX + 64];
        snprintf (path, sizeof path, "%s/%s", dir, progs [i]);
        if (access (path, X_OK) != 0) {
            fprintf (stderr, S_PROGRAM ": %s is missing (build it, or use --bin)\n", path);
            return -1;
        }
    }
    return 0;
}

/* The certificates of a secure hub, made in DIR/certs (each pair) and admitted in
   DIR/clients (the public parts of all but the server's). */
typedef struct {
    char dir [PATH_MAX];                /* DIR/certs */
    char clients [PATH_MAX];            /* DIR/clients */
    char server_secret [PATH_MAX + 32];
    char server_public [PATH_MAX + 32];
    char hub [PATH_MAX + 32];           /* the recorder's (role hub) */
    char reader [PATH_MAX + 32];        /* the admin's */
    kh_bench_hub_t *target;             /* gets the keys loaded */
} s_certs_t;

/* Makes the pair base for ident in certs->dir and, if admit, its public part in
   certs->clients; writes the public file's path into path (cap bytes). Returns the
   certificate loaded, or NULL after saying why. */
static zcert_t *
s_pair (s_certs_t *certs, const char *base, const kh_ident_t *ident, bool admit,
        char *path, size_t cap)
{
    kh_problem_t why = { 0 };
    char admitted [PATH_MAX + 32];
    snprintf (admitted, sizeof admitted, "%s/%s.cert", certs->clients, base);
    zcert_t *cert = NULL;
    if (kh_cert_create (certs->dir, base, ident, path, cap, &why) == 0)
        cert = zcert_load (path);
    if (cert && admit && zcert_save_public (cert, admitted))
        zcert_destroy (&cert);
    if (!cert)
        fprintf (stderr, S_PROGRAM ": cannot make the certificate %s in %s: %s\n", base,
                 certs->dir, why.reason [0] ? why.reason : "cannot write it");
    return cert;
}

/* Makes every certificate of a secure hub in dir and loads the clients' into
   target. Returns 0, or -1 after saying why. */
static int
s_certs_make (s_certs_t *certs, const char *dir, kh_bench_hub_t *target)
{
    snprintf (certs->dir, sizeof certs->dir, "%s/certs", dir);
    snprintf (certs->clients, sizeof certs->clients, "%s/clients", dir);
    if (mkdir (certs->dir, 0700) || mkdir (certs->clients, 0700)) {
        fprintf (stderr, S_PROGRAM ": cannot make %s and %s\n", certs->dir, certs->clients);
        return -1;
    }
    kh_ident_t server = { .name = "kreishub-bench" };
    kh_ident_t hub = { .ags = "05162", .name = "recorder", .role = KH_ROLE_HUB };
    kh_ident_t admin = { .ags = "05162", .name = "admin", .role = KH_ROLE_ADMIN };
    zcert_t *server_cert = s_pair (certs, "server", &server, false, certs->server_public,
                                   sizeof certs->server_public);
    zcert_t *hub_cert = s_pair (certs, "hub", &hub, true, certs->hub, sizeof certs->hub);
    target->reader = s_pair (certs, "admin", &admin, true, certs->reader,
                             sizeof certs->reader);
    int rc = server_cert && hub_cert && target->reader ? 0 : -1;
    for (int i = 0; rc == 0 && i < KH_BENCH_AGS_COUNT; i++) {
        kh_ident_t member = { .role = KH_ROLE_MUNICIPALITY };
        char path [PATH_MAX + 32];
        snprintf (member.ags, sizeof member.ags, "%s", kh_bench_ags (i));
        snprintf (member.name, sizeof member.name, "Mitglied %s", member.ags);
        target->senders [i] = s_pair (certs, member.ags, &member, true, path, sizeof path);
        rc = target->senders [i] ? 0 : -1;
    }
    snprintf (certs->server_secret, sizeof certs->server_secret, "%s/server.cert_secret",
              certs->dir);
    target->server_key = server_cert && rc == 0 ? strdup (zcert_public_txt (server_cert))
                                                : NULL;
    target->reader_file = certs->reader;
    target->server_file = certs->server_public;
    zcert_destroy (&server_cert);
    zcert_destroy (&hub_cert);
    return target->server_key ? 0 : -1;
}

/* Frees the keys s_certs_make loaded into target. */
static void
s_certs_free (kh_bench_hub_t *target)
{
    free ((char *) target->server_key);
    target->server_key = NULL;
    zcert_destroy (&target->reader);
    for (int i = 0; i < KH_BENCH_AGS_COUNT; i++)
        zcert_destroy (&target->senders [i]);
}

/* Starts a hub from bin on random loopback ports with its store and the programs'
   stderr in dir: in plain mode, or secure with the certificates certs holds (NULL:
   plain). Returns the launcher (running), or NULL after saying why. */
static kh_launch_t *
s_hub_start (const kh_bench_opts_t *opts, const char *bin, const char *dir,
             const s_certs_t *certs)
{
    char db [PATH_MAX];
    snprintf (db, sizeof db, "%s/kreishub.db", dir);
    /* The broker keeps as many records for a subscriber as ours does (its default,
       1,000, drops for one that falls that far behind, which at W1's rate takes a
       busy machine a few ms; the bench would count the gaps as failures). */
    const char *hwm = KH_STR (KH_BENCH_SUB_HWM);
    const char *plain_broker [] = { "--client", "tcp://127.0.0.1:!",
                                    "--live", "tcp://127.0.0.1:!",
                                    "--recorder", "tcp://127.0.0.1:!", "--plain",
                                    "--live-hwm", hwm, NULL };
    const char *plain_recorder [] = { "--db", db, "--sync", opts->sync, "--plain", NULL };
    const char *secure_broker [] = { "--client", "tcp://127.0.0.1:!",
                                     "--live", "tcp://127.0.0.1:!",
                                     "--recorder", "tcp://127.0.0.1:!",
                                     "--cert", certs ? certs->server_secret : "",
                                     "--clients", certs ? certs->clients : "",
                                     "--live-hwm", hwm, NULL };
    const char *secure_recorder [] = { "--db", db, "--sync", opts->sync,
                                       "--cert", certs ? certs->hub : "",
                                       "--server-cert", certs ? certs->server_public : "",
                                       NULL };
    kh_keys_t *keys = certs ? kh_keys_load (certs->reader, certs->server_public, NULL) : NULL;
    kh_launch_opts_t how = { .bin_dir = bin, .log_dir = dir, .keys = keys };
    kh_launch_t *launch = certs && !keys ? NULL : kh_launch_new (&how);
    int rc = launch ? kh_launch_start (launch, certs ? secure_broker : plain_broker,
                                       certs ? secure_recorder : plain_recorder) : -1;
    kh_keys_destroy (&keys);
    if (rc == 0)
        return launch;
    fprintf (stderr, S_PROGRAM ": cannot start the hub: %s (see %s)\n",
             launch ? kh_launch_why (launch) : "out of memory or no keys", dir);
    if (launch)
        kh_launch_stop (launch);
    kh_launch_destroy (&launch);
    return NULL;
}

/* Stops the hub; removes dir unless keep. Returns 0 if both stopped cleanly. */
static int
s_hub_stop (kh_launch_t **launch_p, const char *dir, bool keep)
{
    int rc = kh_launch_stop (*launch_p);
    if (rc)
        fprintf (stderr, S_PROGRAM ": the hub did not stop cleanly: %s (see %s)\n",
                 kh_launch_why (*launch_p), dir);
    kh_launch_destroy (launch_p);
    char cmd [PATH_MAX + 16];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (rc == 0 && !keep && system (cmd) != 0)
        fprintf (stderr, S_PROGRAM ": could not remove %s\n", dir);
    else
    if (rc == 0 && keep)
        printf ("hub data kept in %s\n", dir);
    return rc;
}

/* Runs W1 (and W2 if w2) as asked on a fresh hub, secure or plain. Returns 0 if all
   passed. */
static int
s_kreishub (const kh_bench_opts_t *opts, bool secure, bool w2, kh_bench_result_t *w1)
{
    char bin [PATH_MAX], dir [] = "/tmp/kh-bench-XXXXXX";
    if (s_bin_dir (opts, bin, sizeof bin) || !mkdtemp (dir))
        return -1;
    kh_bench_hub_t target = { NULL };
    s_certs_t certs;
    kh_launch_t *launch = NULL;
    if (!secure || s_certs_make (&certs, dir, &target) == 0)
        launch = s_hub_start (opts, bin, dir, secure ? &certs : NULL);
    if (!launch) {
        s_certs_free (&target);
        return -1;
    }
    target.client = kh_launch_endpoint (launch, "client");
    target.live = kh_launch_endpoint (launch, "live");
    printf ("\nhub (%s): broker %s, live %s, recorder --sync %s, data in %s\n",
            secure ? "secure, CURVE on every endpoint and the recorder link" : "plain",
            target.client, target.live, opts->sync, dir);
    fflush (stdout);
    int rc = 0;
    if (opts->w1 && kh_bench_w1 (opts, &target, w1))
        rc = -1;
    if (w2 && !zsys_interrupted && kh_bench_w2 (opts, &target))
        rc = -1;
    rc = s_hub_stop (&launch, dir, opts->keep || rc != 0) || rc ? -1 : 0;
    s_certs_free (&target);
    return rc;
}

/* Prints what CURVE costs in W1: the secure hub's figures against the plain one's. */
static void
s_curve_cost (const kh_bench_result_t *plain, const kh_bench_result_t *secure)
{
    if (!plain->ok || !secure->ok || plain->ack_rate <= 0 || plain->ack_p50_us <= 0)
        return;
    printf ("\nW1 CURVE/plain: acked msgs/s %.0f / %.0f = %.2f, delivered msgs/s %.2f, "
            "p50 publish->ack %.2f, p99 publish->ack %.2f\n", secure->ack_rate,
            plain->ack_rate, secure->ack_rate / plain->ack_rate,
            plain->delivery_rate > 0 ? secure->delivery_rate / plain->delivery_rate : 0,
            secure->ack_p50_us / plain->ack_p50_us,
            plain->ack_p99_us > 0 ? secure->ack_p99_us / plain->ack_p99_us : 0);
}

int
main (int argc, char *argv [])
{
    kh_bench_opts_t opts = {
        .w1 = true, .w2 = true, .publishers = 4, .messages = 50000, .size = 1024,
        .window = 1000, .replay = 200000, .sync = "full", .timeout_s = 600,
        .plain = true, .curve = true
    };
    int rc = s_parse (argc, argv, &opts);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, 2);
    setvbuf (stdout, NULL, _IOLBF, 0);
    kh_bench_print_machine (stdout);
    kh_bench_result_t w1 = { .name = "W1" }, w1_curve = { .name = "W1" };
    kh_bench_result_t mqtt = { .name = "MQTT" };
    /* The hubs are started from this thread before the workers exist; czmq installs
       its SIGINT/SIGTERM handler, which the workers watch through zsys_interrupted.
       W2 runs on the first hub only. */
    rc = 0;
    if ((opts.w1 || opts.w2) && opts.plain && s_kreishub (&opts, false, opts.w2, &w1))
        rc = -1;
    if ((opts.w1 || (opts.w2 && !opts.plain)) && opts.curve && !zsys_interrupted
    &&  s_kreishub (&opts, true, opts.w2 && !opts.plain, opts.plain ? &w1_curve : &w1))
        rc = -1;
    if (opts.w1 && opts.plain && opts.curve)
        s_curve_cost (&w1, &w1_curve);
    if (opts.mosquitto && !zsys_interrupted) {
        int mrc = kh_bench_mqtt (&opts, &mqtt);
        if (mrc < 0)
            rc = -1;
        if (mrc == 0 && opts.w1 && w1.ok && mqtt.ack_rate > 0 && mqtt.delivery_rate > 0)
            printf ("\nkreishub/mosquitto: acked msgs/s %.2f, delivered msgs/s %.2f, "
                    "p50 publish->ack %.2f, p99 publish->ack %.2f "
                    "(latency: below 1 is better)\n",
                    w1.ack_rate / mqtt.ack_rate, w1.delivery_rate / mqtt.delivery_rate,
                    mqtt.ack_p50_us > 0 ? w1.ack_p50_us / mqtt.ack_p50_us : 0,
                    mqtt.ack_p99_us > 0 ? w1.ack_p99_us / mqtt.ack_p99_us : 0);
    }
    zsys_shutdown ();
    printf ("\nkreishub-bench: %s\n", rc == 0 ? "all counts exact" : "FAILED");
    return rc == 0 ? 0 : 1;
}
