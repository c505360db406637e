/*  kh_bench_util.c - clock, percentiles, the run's message ids, printing, and the
    workers' start, handshake and end. */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include "kh_bench.h"

uint64_t
kh_bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void
kh_bench_sleep_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    while (nanosleep (&ts, &ts) == -1)
        ;
}

static int
s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

uint64_t
kh_bench_percentile (uint64_t *values, size_t count, double p)
{
    if (count == 0)
        return 0;
    qsort (values, count, sizeof *values, s_cmp_u64);
    size_t rank = (size_t) (p / 100.0 * (double) count + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > count)
        rank = count;
    return values [rank - 1];
}

void
kh_bench_p50_p99 (uint64_t *values, size_t count, double *p50, double *p99)
{
    *p50 = (double) kh_bench_percentile (values, count, 50) / 1000.0;
    *p99 = (double) kh_bench_percentile (values, count, 99) / 1000.0;
}

const char *
kh_bench_fmt_us (char *buf, size_t cap, double us)
{
    if (us < 1000.0)
        snprintf (buf, cap, "%.0f us", us);
    else
        snprintf (buf, cap, "%.2f ms", us / 1000.0);
    return buf;
}

/* -------------------------------------------------------------- message ids */

void
kh_bench_ids_init (kh_bench_ids_t *ids)
{
    kh_id_new (ids->base);              /* timestamp, version, variant, random */
    ids->base [6] = 0x70;               /* version 7, publisher 0 */
    ids->base [7] = 0;
    memset (ids->base + 12, 0, 4);      /* message 0 */
}

void
kh_bench_id_make (const kh_bench_ids_t *ids, int pub, uint32_t index,
                  uint8_t id [KH_ID_SIZE])
{
    memcpy (id, ids->base, KH_ID_SIZE);
    id [6] = (uint8_t) (0x70 | ((unsigned) pub >> 8 & 0x0F));
    id [7] = (uint8_t) pub;
    id [12] = (uint8_t) (index >> 24);
    id [13] = (uint8_t) (index >> 16);
    id [14] = (uint8_t) (index >> 8);
    id [15] = (uint8_t) index;
}

int
kh_bench_id_parse (const kh_bench_ids_t *ids, const uint8_t id [KH_ID_SIZE], int *pub,
                   uint32_t *index)
{
    if (memcmp (id, ids->base, 6) != 0 || (id [6] & 0xF0) != 0x70
    ||  memcmp (id + 8, ids->base + 8, 4) != 0)
        return -1;
    *pub = (id [6] & 0x0F) << 8 | id [7];
    *index = (uint32_t) id [12] << 24 | (uint32_t) id [13] << 16
           | (uint32_t) id [14] << 8 | id [15];
    return 0;
}

/* ----------------------------------------------------------------- results */

/* Latencies (us) of the messages where both from [p][i] and to [p][i] are set:
   percentiles into p50, p99, max; the latest to [p][i] into *last. */
static void
s_latencies (int pubs, const uint32_t *per_pub, uint64_t *const *from,
             uint64_t *const *to, uint64_t *scratch, double *p50, double *p99,
             double *max, uint64_t *last)
{
    size_t count = 0;
    *last = 0;
    for (int p = 0; p < pubs; p++)
        for (uint32_t i = 0; i < per_pub [p]; i++)
            if (from [p][i] && to [p][i]) {
                scratch [count++] = to [p][i] > from [p][i] ? to [p][i] - from [p][i] : 0;
                if (to [p][i] > *last)
                    *last = to [p][i];
            }
    *p50 = (double) kh_bench_percentile (scratch, count, 50) / 1000.0;
    *p99 = (double) kh_bench_percentile (scratch, count, 99) / 1000.0;
    *max = count ? (double) scratch [count - 1] / 1000.0 : 0;
}

void
kh_bench_summarise (kh_bench_result_t *r, int pubs, const uint32_t *per_pub,
                    uint64_t go_ns, uint64_t *const *sent, uint64_t *const *acked,
                    uint64_t *const *recv)
{
    size_t total = 0;
    for (int p = 0; p < pubs; p++)
        total += per_pub [p];
    uint64_t *scratch = (uint64_t *) calloc (total ? total : 1, sizeof *scratch);
    if (!scratch) {
        fprintf (stderr, "kreishub-bench: out of memory summarising %s\n", r->name);
        r->ok = false;
        return;
    }
    uint64_t last;
    s_latencies (pubs, per_pub, sent, acked, scratch, &r->ack_p50_us, &r->ack_p99_us,
                 &r->ack_max_us, &last);
    r->ack_secs = last > go_ns ? (double) (last - go_ns) / 1e9 : 0;
    r->ack_rate = r->ack_secs > 0 ? (double) r->acked / r->ack_secs : 0;
    if (recv) {
        s_latencies (pubs, per_pub, sent, recv, scratch, &r->del_p50_us, &r->del_p99_us,
                     &r->del_max_us, &last);
        r->delivery_secs = last > go_ns ? (double) (last - go_ns) / 1e9 : 0;
        r->delivery_rate = r->delivery_secs > 0 ? (double) r->delivered / r->delivery_secs
                                                : 0;
    }
    free (scratch);
    r->ok = r->acked == r->expected && r->errors == 0 && r->dup_acks == 0
         && r->dup_flags == 0 && r->seq_errors == 0
         && (!recv || (r->delivered == r->expected && r->dup_deliveries == 0));
}

void
kh_bench_print_result (FILE *out, const kh_bench_result_t *r)
{
    char a [32], b [32], c [32];
    fprintf (out, "  acked      %8llu/%llu in %6.2f s = %9.0f msgs/s (%.1f MiB/s of %zu-byte "
             "messages)\n", (unsigned long long) r->acked, (unsigned long long) r->expected,
             r->ack_secs, r->ack_rate, r->ack_rate * (double) r->msg_size / 1048576.0,
             r->msg_size);
    fprintf (out, "  delivered  %8llu/%llu in %6.2f s = %9.0f msgs/s\n",
             (unsigned long long) r->delivered, (unsigned long long) r->expected,
             r->delivery_secs, r->delivery_rate);
    fprintf (out, "  publish->ack       p50 %-9s p99 %-9s max %s\n",
             kh_bench_fmt_us (a, sizeof a, r->ack_p50_us),
             kh_bench_fmt_us (b, sizeof b, r->ack_p99_us),
             kh_bench_fmt_us (c, sizeof c, r->ack_max_us));
    fprintf (out, "  publish->delivery  p50 %-9s p99 %-9s max %s\n",
             kh_bench_fmt_us (a, sizeof a, r->del_p50_us),
             kh_bench_fmt_us (b, sizeof b, r->del_p99_us),
             kh_bench_fmt_us (c, sizeof c, r->del_max_us));
    fprintf (out, "  errors %llu, duplicate acks %llu (dup flag %llu), "
             "duplicate deliveries %llu",
             (unsigned long long) r->errors, (unsigned long long) r->dup_acks,
             (unsigned long long) r->dup_flags, (unsigned long long) r->dup_deliveries);
    if (r->has_seq)
        fprintf (out, ",\n  subscriber gaps %llu (%llu records dropped), "
                 "foreign records %llu, acked seqs out of place %llu", (unsigned long long) r->gaps,
                 (unsigned long long) r->dropped, (unsigned long long) r->foreign,
                 (unsigned long long) r->seq_errors);
    fprintf (out, "\n  %s: %s\n", r->name, r->ok ? "OK, every message acked and delivered once"
                                                 : "FAILED, counts are not exact");
    fprintf (out, "RESULT %s acked=%llu delivered=%llu expected=%llu ack_per_s=%.0f "
             "delivered_per_s=%.0f ack_p50_us=%.0f ack_p99_us=%.0f del_p50_us=%.0f "
             "del_p99_us=%.0f errors=%llu gaps=%llu ok=%d\n", r->name,
             (unsigned long long) r->acked, (unsigned long long) r->delivered,
             (unsigned long long) r->expected, r->ack_rate, r->delivery_rate, r->ack_p50_us,
             r->ack_p99_us, r->del_p50_us, r->del_p99_us, (unsigned long long) r->errors,
             (unsigned long long) r->gaps, r->ok);
    fflush (out);
}

/* Frees a table of pubs arrays and sets *table_p to NULL; safe on NULL. */
static void
s_table_destroy (uint64_t ***table_p, int pubs)
{
    if (!table_p || !*table_p)
        return;
    for (int p = 0; p < pubs; p++)
        free ((*table_p) [p]);
    free (*table_p);
    *table_p = NULL;
}

/* A table of pubs arrays of per_pub [p] zeroed entries, or NULL. */
static uint64_t **
s_table_new (int pubs, const uint32_t *per_pub)
{
    uint64_t **table = (uint64_t **) calloc ((size_t) pubs, sizeof *table);
    for (int p = 0; table && p < pubs; p++)
        if (!(table [p] = (uint64_t *) calloc (per_pub [p] ? per_pub [p] : 1,
                                               sizeof (uint64_t))))
            s_table_destroy (&table, pubs);
    return table;
}

int
kh_bench_times_init (kh_bench_times_t *self, int pubs, uint64_t total, bool with_recv)
{
    *self = (kh_bench_times_t) { .pubs = pubs };
    self->per_pub = (uint32_t *) calloc ((size_t) pubs, sizeof *self->per_pub);
    uint64_t share = total / (uint64_t) pubs, rest = total % (uint64_t) pubs;
    for (int p = 0; self->per_pub && p < pubs; p++)
        self->per_pub [p] = (uint32_t) (share + ((uint64_t) p < rest));
    if (self->per_pub) {
        self->sent = s_table_new (pubs, self->per_pub);
        self->acked = s_table_new (pubs, self->per_pub);
        self->recv = with_recv ? s_table_new (pubs, self->per_pub) : NULL;
    }
    if (self->sent && self->acked && (self->recv || !with_recv))
        return 0;
    kh_bench_times_free (self);
    return -1;
}

void
kh_bench_times_free (kh_bench_times_t *self)
{
    s_table_destroy (&self->sent, self->pubs);
    s_table_destroy (&self->acked, self->pubs);
    s_table_destroy (&self->recv, self->pubs);
    free (self->per_pub);
    self->per_pub = NULL;
}

int
kh_bench_conclude (kh_bench_result_t *result, const kh_bench_times_t *times,
                   uint64_t go_ns, int rc)
{
    if (go_ns) {
        kh_bench_summarise (result, times->pubs, times->per_pub, go_ns, times->sent,
                            times->acked, times->recv);
        kh_bench_print_result (stdout, result);
    }
    return result->ok ? rc : -1;
}

bool
kh_bench_wait_go (kh_bench_flags_t *flags)
{
    atomic_fetch_add (&flags->ready, 1);
    while (!atomic_load (&flags->go))
        if (kh_bench_stopping (flags))
            return false;
        else
            kh_bench_sleep_ms (1);
    return true;
}

int
kh_bench_wait_ready (kh_bench_flags_t *flags, int count)
{
    for (int waited = 0; atomic_load (&flags->ready) < count; waited++) {
        if (kh_bench_stopping (flags) || waited > KH_BENCH_READY_MS) {
            atomic_store (&flags->abort, true);
            return -1;
        }
        kh_bench_sleep_ms (1);
    }
    return 0;
}

/* Starts count workers fn on args (size bytes apart) into threads; *started says
   how many began. Returns 0, or -1 if one could not be started. */
static int
s_workers_start (pthread_t *threads, kh_bench_worker_fn *fn, char *args, size_t size,
                 int count, int *started)
{
    for (*started = 0; *started < count; (*started)++)
        if (pthread_create (&threads [*started], NULL, fn, args + *started * size) != 0)
            return -1;
    return 0;
}

int
kh_bench_workers_run (const kh_bench_workers_t *workers, uint64_t *go_ns)
{
    kh_bench_flags_t *flags = workers->flags;
    atomic_init (&flags->ready, 0);
    atomic_init (&flags->go, false);
    atomic_init (&flags->abort, false);
    atomic_init (&flags->publishers_done, false);
    *go_ns = 0;
    pthread_t *threads = (pthread_t *) calloc ((size_t) workers->count + 1, sizeof *threads);
    pthread_t *sub_thread = threads ? &threads [workers->count] : NULL;
    int subs = 0, pubs = 0, rc = -1;
    if (threads
    &&  s_workers_start (sub_thread, workers->subscriber, (char *) workers->sub_arg, 0,
                         workers->subscriber ? 1 : 0, &subs) == 0
    &&  kh_bench_wait_ready (flags, subs) == 0
    &&  s_workers_start (threads, workers->publisher, (char *) workers->pub_args,
                         workers->pub_size, workers->count, &pubs) == 0
    &&  kh_bench_wait_ready (flags, workers->count + subs) == 0) {
        *go_ns = kh_bench_now_ns ();
        atomic_store (&flags->go, true);
        rc = 0;
    }
    if (rc)
        atomic_store (&flags->abort, true);
    for (int p = 0; p < pubs; p++)
        pthread_join (threads [p], NULL);
    atomic_store (&flags->publishers_done, true);
    if (subs)
        pthread_join (*sub_thread, NULL);
    free (threads);
    return rc ? -1 : atomic_load (&flags->abort) ? 1 : 0;
}

bool
kh_bench_stopping (kh_bench_flags_t *flags)
{
    return atomic_load (&flags->abort) || zsys_interrupted;
}

void
kh_bench_fail (kh_bench_flags_t *flags, char *failure, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (failure, KH_BENCH_FAILURE_MAX, fmt, args);
    va_end (args);
    atomic_store (&flags->abort, true);
}
