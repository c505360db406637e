/*  kh_bench_w3.c - W3, latency: one publisher paced at --rate msgs/s for --seconds with
    a live subscriber (publish->ack and publish->delivery when nothing queues), then
    single publishes one at a time (window 1): the round trip of one publish. */
#include <stdlib.h>
#include "kh_bench.h"

/* Runs one publisher with count messages as opts (a copy with window and rate as
   wanted) say, with a live subscriber; fills result. If send_rate, sets it to the
   msgs/s the publisher reached. Returns 0 if every count was exact. */
static int
s_run (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, uint32_t rate,
       uint32_t count, kh_bench_result_t *result, double *send_rate)
{
    uint64_t head;
    if (kh_bench_ping (hub, &head))
        return -1;
    kh_bench_times_t times;
    if (kh_bench_times_init (&times, 1, count, true)) {
        fprintf (stderr, "kreishub-bench: %s: out of memory\n", result->name);
        return -1;
    }
    kh_bench_load_t load = { .opts = opts, .hub = hub, .per_pub = times.per_pub,
                             .sent = times.sent, .acked = times.acked,
                             .recv = times.recv, .head = head, .rate = rate };
    uint64_t go_ns = 0;
    int rc = kh_bench_load_run (&load, result, &go_ns);
    rc = kh_bench_conclude (result, &times, go_ns, rc);
    uint64_t first = times.sent [0][0], last = times.sent [0][count - 1];
    if (send_rate)
        *send_rate = count > 1 && first && last > first
                   ? (double) (count - 1) * 1e9 / (double) (last - first) : 0;
    kh_bench_times_free (&times);
    return rc;
}

int
kh_bench_w3 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, kh_bench_w3_t *result)
{
    kh_bench_opts_t paced = *opts, single = *opts;
    paced.publishers = single.publishers = 1;
    single.window = 1;
    uint32_t count = opts->rate * opts->seconds;
    *result = (kh_bench_w3_t) { .paced.name = "W3-paced", .rtt.name = "W3-rtt" };
    printf ("\nW3 latency: 1 publisher paced at %u msgs/s for %u s (%u messages of %u bytes, "
            "window %u), recorder --sync %s, one subscriber\n", opts->rate, opts->seconds,
            count, opts->size, opts->window, opts->sync);
    kh_bench_print_commit_sync (stdout, KH_BENCH_DATA_ROOT, KH_BENCH_COMMIT_SYNCS,
                                "before W3");
    kh_bench_print_paced_sync (stdout, KH_BENCH_DATA_ROOT, opts->rate, opts->seconds);
    int rc = s_run (&paced, hub, opts->rate, count, &result->paced, &result->send_rate);
    printf ("  the publisher reached %.0f msgs/s of %u: %s\n", result->send_rate, opts->rate,
            result->send_rate >= 0.99 * opts->rate ? "the rate held" : "the rate did NOT hold");
    kh_bench_print_commit_sync (stdout, KH_BENCH_DATA_ROOT, KH_BENCH_COMMIT_SYNCS,
                                "after W3");
    printf ("\nW3 round trip: %u single publishes one at a time (window 1)\n",
            opts->rtt_messages);
    if (s_run (&single, hub, 0, opts->rtt_messages, &result->rtt, NULL))
        rc = -1;
    result->ok = rc == 0;
    return rc;
}
