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
    uint32_t *per_pub = (uint32_t *) calloc ((size_t) pubs, sizeof *per_pub);
    for (int p = 0; per_pub && p < pubs; p++)
        per_pub [p] = opts->messages;
    uint64_t **sent = per_pub ? kh_bench_table_new (pubs, per_pub) : NULL;
    uint64_t **acked = per_pub ? kh_bench_table_new (pubs, per_pub) : NULL;
    uint64_t **recv = per_pub ? kh_bench_table_new (pubs, per_pub) : NULL;
    int rc = -1;
    printf ("\nW1 durable publish: %d publishers x %u messages of %u bytes, window %u, "
            "recorder --sync %s, one subscriber on \"idea/\"\n", pubs, opts->messages,
            opts->size, opts->window, opts->sync);
    fflush (stdout);
    if (sent && acked && recv) {
        kh_bench_load_t load = { .opts = opts, .hub = hub, .per_pub = per_pub,
                                 .sent = sent, .acked = acked, .recv = recv, .head = head };
        uint64_t go_ns;
        *result = (kh_bench_result_t) { .name = "W1" };
        rc = kh_bench_load_run (&load, result, &go_ns);
        if (go_ns) {
            kh_bench_summarise (result, pubs, per_pub, go_ns, sent, acked, recv);
            kh_bench_print_result (stdout, result);
        }
        if (!result->ok)
            rc = -1;
    }
    else
        fprintf (stderr, "kreishub-bench: W1: out of memory\n");
    kh_bench_table_destroy (&sent, pubs);
    kh_bench_table_destroy (&acked, pubs);
    kh_bench_table_destroy (&recv, pubs);
    free (per_pub);
    return rc;
}
