/*  kh_bench.c - kreishub-bench: options, the machine, the hub under test, the
    workloads in order, and an exit status that fails when any count is not exact. */
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"
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

/* Starts a hub from bin on random loopback ports with its store and the programs'
   stderr in dir, in plain mode (the bench's clients are plain; CURVE's cost is
   measured apart). Returns the launcher (running), or NULL after saying why. */
static kh_launch_t *
s_hub_start (const kh_bench_opts_t *opts, const char *bin, const char *dir)
{
    char db [PATH_MAX];
    snprintf (db, sizeof db, "%s/kreishub.db", dir);
    const char *broker [] = { "--client", "tcp://127.0.0.1:!", "--live", "tcp://127.0.0.1:!",
                              "--recorder", "tcp://127.0.0.1:!", "--plain", NULL };
    const char *recorder [] = { "--db", db, "--sync", opts->sync, "--plain", NULL };
    kh_launch_opts_t how = { .bin_dir = bin, .log_dir = dir };
    kh_launch_t *launch = kh_launch_new (&how);
    if (launch && kh_launch_start (launch, broker, recorder) == 0)
        return launch;
    fprintf (stderr, S_PROGRAM ": cannot start the hub: %s (see %s)\n",
             launch ? kh_launch_why (launch) : "out of memory", dir);
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

/* Runs W1 and W2 as asked on a fresh hub. Returns 0 if all passed. */
static int
s_kreishub (const kh_bench_opts_t *opts, kh_bench_result_t *w1)
{
    char bin [PATH_MAX], dir [] = "/tmp/kh-bench-XXXXXX";
    if (s_bin_dir (opts, bin, sizeof bin) || !mkdtemp (dir))
        return -1;
    kh_launch_t *launch = s_hub_start (opts, bin, dir);
    if (!launch)
        return -1;
    kh_bench_hub_t target = { .client = kh_launch_endpoint (launch, "client"),
                              .live = kh_launch_endpoint (launch, "live") };
    printf ("hub: broker %s, live %s, recorder --sync %s, data in %s\n", target.client,
            target.live, opts->sync, dir);
    fflush (stdout);
    int rc = 0;
    if (opts->w1 && kh_bench_w1 (opts, &target, w1))
        rc = -1;
    if (opts->w2 && !zsys_interrupted && kh_bench_w2 (opts, &target))
        rc = -1;
    return s_hub_stop (&launch, dir, opts->keep || rc != 0) || rc ? -1 : 0;
}

int
main (int argc, char *argv [])
{
    kh_bench_opts_t opts = {
        .w1 = true, .w2 = true, .publishers = 4, .messages = 50000, .size = 1024,
        .window = 1000, .replay = 200000, .sync = "full", .timeout_s = 600
    };
    int rc = s_parse (argc, argv, &opts);
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, 2);
    setvbuf (stdout, NULL, _IOLBF, 0);
    kh_bench_print_machine (stdout);
    kh_bench_result_t w1 = { .name = "W1" }, mqtt = { .name = "MQTT" };
    /* The hub is started from this thread before the workers exist; czmq installs
       its SIGINT/SIGTERM handler, which the workers watch through zsys_interrupted. */
    rc = opts.w1 || opts.w2 ? s_kreishub (&opts, &w1) : 0;
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
