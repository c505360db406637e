/*  kh_bench.c - kreishub-bench: options, the machine, the hub under test, the
    workloads in order, and an exit status that fails when any count is not exact. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"
#include "kh_harness.h"

static void
s_usage (FILE *out)
{
    fprintf (out,
        "usage: kreishub-bench [options]\n"
        "Starts kreishub-broker and kreishub-recorder on loopback ports and measures them.\n"
        "  -w, --workload W      w1, w2 or all (default all)\n"
        "      --publishers N    publisher threads (default 4)\n"
        "      --messages N      messages per publisher (default 50000)\n"
        "      --size BYTES      envelope size (default 1024)\n"
        "      --window N        unacknowledged publishes per publisher (default 1000)\n"
        "      --replay N        rows W2 replays from seq 1 (default 200000)\n"
        "      --sync MODE       recorder's --sync: full, normal or off (default full)\n"
        "      --mosquitto       also run W1 against Mosquitto at QoS 1%s\n"
        "      --bin DIR         where kreishub-broker and -recorder are\n"
        "                        (default: this program's directory)\n"
        "      --timeout S       a workload taking longer fails (default 600)\n"
        "      --keep            keep the hub's data directory\n"
        "  -h, --help            this text\n"
        "Exits 0 only if every message was acked and delivered exactly once and every\n"
        "replay saw exactly the rows asked for, in order.\n",
#ifdef KH_HAVE_MOSQUITTO
        ""
#else
        " (not built in: no libmosquitto)"
#endif
        );
}

/* Reads a decimal number from min to max into *value. Returns 0, or -1 after
   printing why. */
static int
s_number (const char *what, const char *text, unsigned long min, unsigned long max,
          unsigned long *value)
{
    char *end = NULL;
    errno = 0;
    unsigned long n = *text != '-' ? strtoul (text, &end, 10) : 0;
    if (!end || end == text || *end || errno || n < min || n > max) {
        fprintf (stderr, "kreishub-bench: %s must be a number from %lu to %lu, not '%s'\n",
                 what, min, max, text);
        return -1;
    }
    *value = n;
    return 0;
}

/* Parses argv into opts. Returns 0, 1 if help was asked for, -1 on a bad option. */
static int
s_parse (int argc, char *argv [], kh_bench_opts_t *opts)
{
    enum { OPT_PUBS = 256, OPT_MSGS, OPT_SIZE, OPT_WINDOW, OPT_REPLAY, OPT_SYNC,
           OPT_MOSQ, OPT_BIN, OPT_TIMEOUT, OPT_KEEP };
    static const struct option options [] = {
        { "workload",   required_argument, NULL, 'w' },
        { "publishers", required_argument, NULL, OPT_PUBS },
        { "messages",   required_argument, NULL, OPT_MSGS },
        { "size",       required_argument, NULL, OPT_SIZE },
        { "window",     required_argument, NULL, OPT_WINDOW },
        { "replay",     required_argument, NULL, OPT_REPLAY },
        { "sync",       required_argument, NULL, OPT_SYNC },
        { "mosquitto",  no_argument,       NULL, OPT_MOSQ },
        { "bin",        required_argument, NULL, OPT_BIN },
        { "timeout",    required_argument, NULL, OPT_TIMEOUT },
        { "keep",       no_argument,       NULL, OPT_KEEP },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int opt, rc = 0;
    unsigned long n = 0;
    while (rc == 0 && (opt = getopt_long (argc, argv, "w:h", options, NULL)) != -1) {
        switch (opt) {
            case 'w':
                opts->w1 = streq (optarg, "w1") || streq (optarg, "all");
                opts->w2 = streq (optarg, "w2") || streq (optarg, "all");
                if (!opts->w1 && !opts->w2) {
                    fprintf (stderr, "kreishub-bench: --workload is w1, w2 or all\n");
                    rc = -1;
                }
                break;
            case OPT_PUBS:
                if ((rc = s_number ("--publishers", optarg, 1, 64, &n)) == 0)
                    opts->publishers = (int) n;
                break;
            case OPT_MSGS:
                if ((rc = s_number ("--messages", optarg, 1, 100000000, &n)) == 0)
                    opts->messages = (uint32_t) n;
                break;
            case OPT_SIZE:
                if ((rc = s_number ("--size", optarg, 64, 8192, &n)) == 0)
                    opts->size = (uint32_t) n;
                break;
            case OPT_WINDOW:
                if ((rc = s_number ("--window", optarg, 1, 100000, &n)) == 0)
                    opts->window = (uint32_t) n;
                break;
            case OPT_REPLAY:
                if ((rc = s_number ("--replay", optarg, 1, 100000000, &n)) == 0)
                    opts->replay = (uint32_t) n;
                break;
            case OPT_TIMEOUT:
                if ((rc = s_number ("--timeout", optarg, 1, 86400, &n)) == 0)
                    opts->timeout_s = (int) n;
                break;
            case OPT_SYNC:
                opts->sync = optarg;
                if (!streq (optarg, "full") && !streq (optarg, "normal")
                &&  !streq (optarg, "off")) {
                    fprintf (stderr, "kreishub-bench: --sync is full, normal or off\n");
                    rc = -1;
                }
                break;
            case OPT_MOSQ:    opts->mosquitto = true; break;
            case OPT_BIN:     opts->bin = optarg; break;
            case OPT_KEEP:    opts->keep = true; break;
            case 'h':       return 1;
            default:        return -1;
        }
    }
    if (rc == 0 && optind < argc) {
        fprintf (stderr, "kreishub-bench: unexpected argument '%s'\n", argv [optind]);
        rc = -1;
    }
    return rc;
}

/* Sets KH_BIN_DIR (read by the harness) to --bin or this program's directory and
   checks that both programs are there. Returns 0, or -1 after printing why. */
static int
s_bin_dir (const kh_bench_opts_t *opts)
{
    char self [PATH_MAX] = "";
    const char *dir = opts->bin;
    if (!dir) {
        ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0) {
            fprintf (stderr, "kreishub-bench: cannot read /proc/self/exe; use --bin\n");
            return -1;
        }
        self [len] = 0;
        dir = dirname (self);
    }
    setenv ("KH_BIN_DIR", dir, 1);
    const char *progs [] = { "kreishub-broker", "kreishub-recorder" };
    for (size_t i = 0; i < sizeof progs / sizeof progs [0]; i++) {
        char path [PATH_MAX + 64];
        snprintf (path, sizeof path, "%s/%s", dir, progs [i]);
        if (access (path, X_OK) != 0) {
            fprintf (stderr, "kreishub-bench: %s is missing (build it, or use --bin)\n",
                     path);
            return -1;
        }
    }
    return 0;
}

/* Runs W1 and W2 as asked on a fresh hub. Returns 0 if all passed. */
static int
s_kreishub (const kh_bench_opts_t *opts, kh_bench_result_t *w1)
{
    if (s_bin_dir (opts))
        return -1;
    const char *recorder_args [] = { "--sync", opts->sync, NULL };
    kh_hub_t hub;
    if (kh_hub_start (&hub, NULL, recorder_args)) {
        fprintf (stderr, "kreishub-bench: cannot start the hub (see %s)\n", hub.dir);
        return -1;
    }
    printf ("hub: broker %s, live %s, recorder --sync %s, data in %s\n", hub.client,
            hub.live, opts->sync, hub.dir);
    fflush (stdout);
    kh_bench_hub_t target = { .client = hub.client, .live = hub.live };
    int rc = 0;
    if (opts->w1 && kh_bench_w1 (opts, &target, w1))
        rc = -1;
    if (opts->w2 && !zsys_interrupted && kh_bench_w2 (opts, &target))
        rc = -1;
    bool keep = opts->keep || rc != 0;
    if (kh_hub_stop (&hub, keep)) {
        fprintf (stderr, "kreishub-bench: the hub did not stop cleanly (see %s)\n", hub.dir);
        rc = -1;
    }
    else
    if (keep)
        printf ("hub data kept in %s\n", hub.dir);
    return rc;
}

int
main (int argc, char *argv [])
{
    kh_bench_opts_t opts = {
        .w1 = true, .w2 = true, .publishers = 4, .messages = 50000, .size = 1024,
        .window = 1000, .replay = 200000, .sync = "full", .timeout_s = 600
    };
    int rc = s_parse (argc, argv, &opts);
    if (rc) {
        s_usage (rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    setvbuf (stdout, NULL, _IOLBF, 0);
    kh_bench_print_machine (stdout);
    kh_bench_result_t w1 = { .name = "W1" }, mqtt = { .name = "MQTT" };
    /* The hub is started before czmq's context and I/O threads exist (the harness
       forks); czmq then installs its SIGINT/SIGTERM handler, which the workers
       watch through zsys_interrupted. */
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
