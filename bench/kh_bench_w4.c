/*  kh_bench_w4.c - W4 (stub while being written). */
#include "kh_bench.h"

int
kh_bench_w4 (const kh_bench_opts_t *opts, const kh_bench_hub_t *hub, pid_t broker)
{
    return -1;
}
