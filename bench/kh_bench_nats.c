/*  kh_bench_nats.c - NATS (stub while being written). */
#include "kh_bench.h"

int
kh_bench_nats (const kh_bench_opts_t *opts, kh_bench_nats_t *result)
{
    return 1;
}
