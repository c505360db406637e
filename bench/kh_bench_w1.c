/*  kh_bench_w1.c - W1, durable publish: publishers with a window of unacknowledged
    publishes, one live subscriber on "idea/", the recorder syncing per group commit. */
#include <stdlib.h>
#include "kh_bench.h"

int
kh_bench_w1 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub,
             kh_bench_result_t *result)
{
    uint64_t head;
    if (kh_bench_ping (hub, &head))
        return -1;
    int pubs = opts->publishers;
    kh_bench_times_t times;
    int rc = kh_bench_times_init (&times, pubs, (uint64_t) pubs * opts->messages, true);
    printf ("\nW1 durable publish: %d publishers x %u messages of %u bytes, window %u, "
            "recorder --sync %s, one subscriber on \"idea/\"\n", pubs, opts->messages,
            opts->size, opts->window, opts->sync);
    fflush (stdout);
    if (rc == 0) {
        kh_bench_load_t load = { .opts = opts, .hub = hub, .per_pub = times.per_pub,
                                 .sent = times.sent, .acked = times.acked,
                                 .recv = times.recv, .head = head };
        uint64_t go_ns = 0;
        *result = (kh_bench_result_t) { .name = "W1" };
        rc = kh_bench_load_run (&load, result, &go_ns);
        rc = kh_bench_conclude (result, &times, go_ns, rc);
    }
    else
        fprintf (stderr, "kreishub-bench: W1: out of memory\n");
    kh_bench_times_free (&times);
    return rc;
}
