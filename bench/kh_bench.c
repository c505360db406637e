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

#define S_DATA_ROOT KH_BENCH_DATA_ROOT
#define S_SYNCS     200             /* fdatasyncs measured at the start */

#ifdef KH_HAVE_MOSQUITTO
#   define S_MOSQUITTO_NOTE ""
#else
#   define S_MOSQUITTO_NOTE " (not built in: no libmosquitto)"
#endif
#ifdef KH_HAVE_NATS
#   define S_NATS_NOTE ""
#else
#   define S_NATS_NOTE " (not built in: no libnats)"
#endif
#ifdef KH_HAVE_WEB
#   define S_WEB_NOTE ""
#else
#   define S_WEB_NOTE " (not built in: no kreishub-web)"
#endif

/* What the workloads on kreishub measured, for the comparisons at the end. */
typedef struct {
    kh_bench_result_t w1;               /* on the first hub (plain if it ran) */
    kh_bench_result_t w1_curve;         /* on the secure hub when both ran */
    double            w2_rate;          /* QUERY paging msgs/s */
    kh_bench_w3_t     w3;
} s_results_t;

/* Which workloads run on one hub. */
typedef struct {
    bool w1, w2, w3, w4;
} s_plan_t;

/* The options as given, before they are read into kh_bench_opts_t. */
typedef struct {
    const char *workload, *publishers, *messages, *size, *window, *replay, *sync, *timeout;
    const char *curve, *rate, *seconds, *round_trips, *subscribers, *idle, *w4_rate;
    const char *web_items, *web_messages, *web_gets, *web_clients, *web_events, *web_rate;
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

/* Reads --workload, a comma-separated list of w1, w2, w3, w4, all (those four) or
   web, into opts. Returns 0, or -1 after saying why. */
static int
s_workloads (const char *text, kh_bench_opts_t *opts)
{
    static const char *const names [] = { "w1", "w2", "w3", "w4", "all", "web", NULL };
    bool *flags [] = { &opts->w1, &opts->w2, &opts->w3, &opts->w4 };
    bool chosen [6] = { false };
    char list [128];
    snprintf (list, sizeof list, "%s", text);
    char *save = NULL;
    for (char *name = strtok_r (list, ",", &save); name; name = strtok_r (NULL, ",", &save)) {
        int which = kh_value_choice (name, names);
        if (which < 0) {
            fprintf (stderr, S_PROGRAM ": --workload is a list of w1, w2, w3, w4, all or web\n");
            return -1;
        }
        chosen [which] = true;
    }
    for (int i = 0; i < 4; i++)
        *flags [i] = chosen [i] || chosen [4];
    opts->web = chosen [5];
    return 0;
}

/* Reads the options given into opts. Returns 0, or -1 after saying why. */
static int
s_read (const s_given_t *given, kh_bench_opts_t *opts)
{
    if (given->workload && s_workloads (given->workload, opts))
        return -1;
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
    ||  s_number ("--timeout", given->timeout, 1, 86400, &timeout)
    ||  s_number ("--rate", given->rate, 1, 1000000, &opts->rate)
    ||  s_number ("--seconds", given->seconds, 1, 3600, &opts->seconds)
    ||  s_number ("--round-trips", given->round_trips, 1, 1000000, &opts->rtt_messages)
    ||  s_number ("--subscribers", given->subscribers, 1, 20000, &opts->subscribers)
    ||  s_number ("--idle-subscribers", given->idle, 0, 20000, &opts->idle_subscribers)
    ||  s_number ("--w4-rate", given->w4_rate, 1, 1000000, &opts->w4_rate)
    ||  s_number ("--web-items", given->web_items, 1, 1000000, &opts->web_items)
    ||  s_number ("--web-messages", given->web_messages, 1, 100000000, &opts->web_messages)
    ||  s_number ("--web-gets", given->web_gets, 1, 1000000, &opts->web_gets)
    ||  s_number ("--web-clients", given->web_clients, 1, 500, &opts->web_clients)
    ||  s_number ("--web-events", given->web_events, 1, 1000000, &opts->web_events)
    ||  s_number ("--web-rate", given->web_rate, 1, 10000, &opts->web_rate))
        return -1;
    if (opts->web_items > opts->web_messages) {
        fprintf (stderr, S_PROGRAM ": --web-items must not exceed --web-messages\n");
        return -1;
    }
    if (opts->idle_subscribers >= opts->subscribers) {
        fprintf (stderr, S_PROGRAM ": --idle-subscribers must leave one that reads\n");
        return -1;
    }
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
        { "workload", 'w', "W", &given.workload, NULL,
          "w1, w2, w3, w4, all (those four) or web, or a list:\n"
          "w1,w3 or all,web (default all; web is not in all: its\nstore takes about a "
          "minute to fill the first time,\na run another minute)" S_WEB_NOTE },
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
        { "rate", 0, "N", &given.rate, NULL,
          "W3: msgs/s of its one paced publisher (default 2000)" },
        { "seconds", 0, "S", &given.seconds, NULL,
          "W3 and W4 publish this long (default 10)" },
        { "round-trips", 0, "N", &given.round_trips, NULL,
          "W3: single publishes one at a time (default 1000)" },
        { "subscribers", 0, "N", &given.subscribers, NULL,
          "W4: live subscribers in this process (default 1000)" },
        { "idle-subscribers", 0, "M", &given.idle, NULL,
          "W4: of them, never reading (default 100)" },
        { "w4-rate", 0, "N", &given.w4_rate, NULL,
          "W4: msgs/s of its one publisher, at most (default 500)" },
        { "web-items", 0, "N", &given.web_items, NULL,
          "web: items in its store (default 10000)" },
        { "web-messages", 0, "N", &given.web_messages, NULL,
          "web: messages in its store, items included\n(default 1000000)" },
        { "web-store", 0, "DIR", &opts->web_store, NULL, "web: where filled stores are kept "
          "for reruns,\none per counts (default /tmp)" },
        { "web-gets", 0, "N", &given.web_gets, NULL, "web: timed GETs of each page (default 200)" },
        { "web-clients", 0, "N", &given.web_clients, NULL,
          "web: open live item pages (default 100)" },
        { "web-events", 0, "N", &given.web_events, NULL,
          "web: messages published to them (default 200)" },
        { "web-rate", 0, "N", &given.web_rate, NULL, "web: msgs/s of those (default 20)" },
        { "mosquitto", 0, NULL, NULL, &opts->mosquitto,
          "also run W1 against Mosquitto at QoS 1" S_MOSQUITTO_NOTE },
        { "nats", 0, NULL, NULL, &opts->nats,
          "also run W1, W2 and W3 against NATS JetStream\n(nats-server -js, file storage)"
          S_NATS_NOTE },
        { "bin", 0, "DIR", &opts->bin, NULL, "where kreishub-broker and -recorder are\n"
          "(default: this program's directory)" },
        { "timeout", 0, "S", &given.timeout, NULL,
          "a workload taking longer fails (default 600)" },
        { "keep", 0, NULL, NULL, &opts->keep, "keep the hub's data directory" },
        { NULL }
    };
    kh_opts_t usage = {
        .program = S_PROGRAM, .table = table, .version = true,
        .about = "Starts kreishub-broker and kreishub-recorder (and for web kreishub-web) "
                 "on loopback\nports and measures them.\n",
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

/* Ends the NULL-terminated args before the option name. */
static void
s_cut (const char **args, const char *name)
{
    for (; *args; args++)
        if (streq (*args, name)) {
            *args = NULL;
            return;
        }
}

/* Starts a hub from bin on random loopback ports with its store and the programs'
   stderr in dir: in plain mode, or secure with the certificates certs holds (NULL:
   plain); the broker keeps KH_BENCH_SUB_HWM records per subscriber if deep_live,
   else its default. Returns the launcher (running), or NULL after saying why. */
static kh_launch_t *
s_hub_start (const kh_bench_opts_t *opts, const char *bin, const char *dir,
             const s_certs_t *certs, bool deep_live)
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
    if (!deep_live) {                   /* the broker's default, as users run it */
        s_cut (plain_broker, "--live-hwm");
        s_cut (secure_broker, "--live-hwm");
    }
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

/* Runs the workloads plan names on hub (started in dir): W1 into *w1, the others
   into results. Returns 0 if all passed. */
static int
s_workloads_run (const kh_bench_opts_t *opts, const s_plan_t *plan,
                 const kh_bench_hub_t *hub, kh_launch_t *launch, kh_bench_result_t *w1,
                 s_results_t *results)
{
    int rc = 0;
    if (plan->w1 && kh_bench_w1 (opts, hub, w1))
        rc = -1;
    if (plan->w2 && !zsys_interrupted && kh_bench_w2 (opts, hub, &results->w2_rate))
        rc = -1;
    if (plan->w3 && !zsys_interrupted && kh_bench_w3 (opts, hub, &results->w3))
        rc = -1;
    if (plan->w4 && !zsys_interrupted
    &&  kh_bench_w4 (opts, hub, kh_proc_pid (kh_launch_broker_proc (launch))))
        rc = -1;
    return rc;
}

/* Runs the workloads plan names on a fresh hub, secure or plain (W4 on a broker
   with its default live queue, the others with the bench's deep one); W1's figures
   go to *w1. Returns 0 if all passed. */
static int
s_kreishub (const kh_bench_opts_t *opts, bool secure, const s_plan_t *plan,
            kh_bench_result_t *w1, s_results_t *results)
{
    char bin [PATH_MAX], dir [] = S_DATA_ROOT "/kh-bench-XXXXXX";
    if (s_bin_dir (opts, bin, sizeof bin) || !mkdtemp (dir))
        return -1;
    kh_bench_hub_t target = { NULL };
    s_certs_t certs;
    kh_launch_t *launch = NULL;
    if (!secure || s_certs_make (&certs, dir, &target) == 0)
        launch = s_hub_start (opts, bin, dir, secure ? &certs : NULL, !plan->w4);
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
    int rc = s_workloads_run (opts, plan, &target, launch, w1, results);
    rc = s_hub_stop (&launch, dir, opts->keep || rc != 0) || rc ? -1 : 0;
    s_certs_free (&target);
    return rc;
}

/* Runs every kreishub workload asked for: W1 on a plain hub and a secure one as
   --curve says, W2 on the first, W3 on the secure one if there is one (as users run
   the hub), W4 on a hub of its own, so that its broker's peak memory is W4's.
   Returns 0 if all passed. */
static int
s_kreishub_all (const kh_bench_opts_t *opts, s_results_t *results)
{
    int rc = 0;
    s_plan_t plain = { .w1 = opts->w1, .w2 = opts->w2, .w3 = opts->w3 && !opts->curve };
    s_plan_t secure = { .w1 = opts->w1, .w2 = opts->w2 && !opts->plain, .w3 = opts->w3 };
    s_plan_t own = { .w4 = true };
    if (opts->plain && (plain.w1 || plain.w2 || plain.w3)
    &&  s_kreishub (opts, false, &plain, &results->w1, results))
        rc = -1;
    if (opts->curve && (secure.w1 || secure.w2 || secure.w3) && !zsys_interrupted
    &&  s_kreishub (opts, true, &secure, opts->plain ? &results->w1_curve : &results->w1,
                    results))
        rc = -1;
    if (opts->w4 && !zsys_interrupted && s_kreishub (opts, opts->curve, &own, NULL, results))
        rc = -1;
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

/* Prints one comparison: ours and theirs and the ratio; lower says whether a lower
   figure is better (latency), so that a reader knows which way the ratio is good. */
static void
s_compare (const char *what, double ours, double theirs, bool lower)
{
    if (ours <= 0 || theirs <= 0)
        return;
    printf ("  %-34s %12.0f %12.0f %8.2f  (%s)\n", what, ours, theirs, ours / theirs,
            lower ? "below 1 is better" : "above 1 is better");
}

/* Prints kreishub's figures beside NATS JetStream's, with the ratios. */
static void
s_nats_compare (const kh_bench_opts_t *opts, const s_results_t *ours,
                const kh_bench_nats_t *nats)
{
    printf ("\nkreishub / NATS JetStream          %12s %12s %8s\n", "kreishub", "NATS", "ratio");
    if (opts->w1 && ours->w1.ok && nats->w1.ok) {
        s_compare ("W1 acked msgs/s", ours->w1.ack_rate, nats->w1.ack_rate, false);
        s_compare ("W1 delivered msgs/s", ours->w1.delivery_rate, nats->w1.delivery_rate,
                   false);
        s_compare ("W1 publish->ack p50 us", ours->w1.ack_p50_us, nats->w1.ack_p50_us, true);
        s_compare ("W1 publish->ack p99 us", ours->w1.ack_p99_us, nats->w1.ack_p99_us, true);
    }
    if (opts->w2)
        s_compare ("W2 replay msgs/s", ours->w2_rate, nats->w2_rate, false);
    if (opts->w3 && ours->w3.ok && nats->w3.ok) {
        s_compare ("W3 publish->delivery p50 us", ours->w3.paced.del_p50_us,
                   nats->w3.paced.del_p50_us, true);
        s_compare ("W3 publish->delivery p99 us", ours->w3.paced.del_p99_us,
                   nats->w3.paced.del_p99_us, true);
        s_compare ("W3 publish->ack p99 us", ours->w3.paced.ack_p99_us,
                   nats->w3.paced.ack_p99_us, true);
        s_compare ("single publish round trip p50 us", ours->w3.rtt.ack_p50_us,
                   nats->w3.rtt.ack_p50_us, true);
        s_compare ("single publish round trip p99 us", ours->w3.rtt.ack_p99_us,
                   nats->w3.rtt.ack_p99_us, true);
    }
    if (opts->w1 && opts->plain)
        printf ("  (W1: kreishub's plain hub; W3: its %s hub; NATS without TLS)\n",
                opts->curve ? "secure" : "plain");
}

/* Runs the Mosquitto comparison and prints the ratio to W1. Returns 0, or -1 if it
   failed. */
static int
s_mosquitto (const kh_bench_opts_t *opts, const kh_bench_result_t *w1)
{
    kh_bench_result_t mqtt = { .name = "MQTT" };
    int mrc = kh_bench_mqtt (opts, &mqtt);
    if (mrc == 0 && opts->w1 && w1->ok && mqtt.ack_rate > 0 && mqtt.delivery_rate > 0)
        printf ("\nkreishub/mosquitto: acked msgs/s %.2f, delivered msgs/s %.2f, "
                "p50 publish->ack %.2f, p99 publish->ack %.2f "
                "(latency: below 1 is better)\n",
                w1->ack_rate / mqtt.ack_rate, w1->delivery_rate / mqtt.delivery_rate,
                mqtt.ack_p50_us > 0 ? w1->ack_p50_us / mqtt.ack_p50_us : 0,
                mqtt.ack_p99_us > 0 ? w1->ack_p99_us / mqtt.ack_p99_us : 0);
    return mrc < 0 ? -1 : 0;
}

/* Runs the web workload with the programs of --bin (kreishub-web among them).
   Returns 0, or -1 if it failed or is not built in. */
static int
s_web (const kh_bench_opts_t *opts)
{
#ifdef KH_HAVE_WEB
    char bin [PATH_MAX], web [PATH_MAX + 16];
    if (s_bin_dir (opts, bin, sizeof bin))
        return -1;
    snprintf (web, sizeof web, "%s/kreishub-web", bin);
    if (access (web, X_OK) != 0) {
        fprintf (stderr, S_PROGRAM ": %s is missing (build it, or use --bin)\n", web);
        return -1;
    }
    return kh_bench_web (opts, bin);
#else
    fprintf (stderr, S_PROGRAM ": the web workload is not built in (no kreishub-web)\n");
    (void) opts;
    return -1;
#endif
}

int
main (int argc, char *argv [])
{
    kh_bench_opts_t opts = {
        .w1 = true, .w2 = true, .w3 = true, .w4 = true, .publishers = 4,
        .messages = 50000, .size = 1024, .window = 1000, .replay = 200000,
        .sync = "full", .timeout_s = 600, .plain = true, .curve = true, .rate = 2000,
        .seconds = 10, .rtt_messages = 1000, .subscribers = 1000,
        .idle_subscribers = 100, .w4_rate = 500, .web_items = 10000,
        .web_messages = 1000000, .web_gets = 200, .web_clients = 100, .web_events = 200,
        .web_rate = 20
    };
    int rc = s_parse (argc, argv, &opts);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, 2);
    setvbuf (stdout, NULL, _IOLBF, 0);
    kh_bench_print_machine (stdout);
    kh_bench_print_disk (stdout, S_DATA_ROOT, S_SYNCS);
    s_results_t results = { .w1.name = "W1", .w1_curve.name = "W1" };
    /* The hubs are started from this thread before the workers exist; czmq installs
       its SIGINT/SIGTERM handler, which the workers watch through zsys_interrupted. */
    rc = s_kreishub_all (&opts, &results);
    if (opts.w1 && opts.plain && opts.curve)
        s_curve_cost (&results.w1, &results.w1_curve);
    if (opts.web && !zsys_interrupted && s_web (&opts))
        rc = -1;
    if (opts.mosquitto && !zsys_interrupted && s_mosquitto (&opts, &results.w1))
        rc = -1;
    kh_bench_nats_t nats = { .w1.name = "NATS-W1" };
    if (opts.nats && !zsys_interrupted && (opts.w1 || opts.w2 || opts.w3)) {
        int nrc = kh_bench_nats (&opts, &nats);
        if (nrc < 0)
            rc = -1;
        if (nrc == 0)
            s_nats_compare (&opts, &results, &nats);
    }
    zsys_shutdown ();
    printf ("\n");
    kh_bench_print_load (stdout, "at the end");
    printf ("kreishub-bench: %s\n", rc == 0 ? "all counts exact" : "FAILED");
    return rc == 0 ? 0 : 1;
}
