/*  kh_merge.c - several history queries read as one log (see kh_merge.h). */
#include <stdlib.h>
#include <string.h>
#include "kh_merge.h"

/* A record copied out of a page. */
typedef struct {
    kh_seqinfo_t info;
    uint8_t     *msg;                   /* malloc'd */
    size_t       size;
} s_copy_t;

/* One query: the records of its current turn, and where it goes on. */
typedef struct {
    kh_query_t  query;                  /* since_seq: the first seq of the next turn */
    s_copy_t   *rows;                   /* KH_MERGE_TURN of them */
    size_t      count;                  /* rows held */
    size_t      pos;                    /* the next row to hand on */
    bool        done;                   /* the query has no more records */
    bool        failed;                 /* a copy could not be made */
} s_source_t;

/* Copies one record of a turn into the source. */
static int
s_collect (const kh_record_t *rec, void *arg)
{
    s_source_t *source = (s_source_t *) arg;
    s_copy_t *copy = &source->rows [source->count];
    copy->msg = (uint8_t *) malloc (rec->msg_size ? rec->msg_size : 1);
    if (!copy->msg) {
        source->failed = true;
        return -1;
    }
    memcpy (copy->msg, rec->msg, rec->msg_size);
    copy->size = rec->msg_size;
    copy->info = rec->info;
    source->count++;
    return 0;
}

/* Frees the rows the source holds. */
static void
s_drop_rows (s_source_t *source)
{
    for (size_t i = 0; i < source->count; i++)
        free (source->rows [i].msg);
    source->count = 0;
    source->pos = 0;
}

/* Reads the source's next turn if it has handed on all it held and is not done.
   Returns 0, or the query's code. */
static int
s_refill (kh_client_t *client, s_source_t *source, int timeout_ms)
{
    if (source->done || source->pos < source->count)
        return 0;
    s_drop_rows (source);
    int rc = kh_client_query (client, &source->query, KH_MERGE_TURN, timeout_ms,
                              s_collect, source);
    if (rc == 0 && source->failed)
        rc = KH_ENOMEM;
    if (rc)
        return rc;
    source->done = source->count < KH_MERGE_TURN;
    if (source->count)
        source->query.since_seq = source->rows [source->count - 1].info.seq + 1;
    return 0;
}

/* The source whose next row has the lowest seq, or NULL if none holds a row. */
static s_source_t *
s_lowest (s_source_t *sources, size_t count)
{
    s_source_t *lowest = NULL;
    for (size_t i = 0; i < count; i++) {
        s_source_t *source = &sources [i];
        if (source->pos < source->count
        &&  (!lowest || source->rows [source->pos].info.seq
                        < lowest->rows [lowest->pos].info.seq))
            lowest = source;
    }
    return lowest;
}

/* Hands on the records of sources in ascending seq until all are done or callback
   stops. Returns 0 or the code of a query that failed. */
static int
s_merge (kh_client_t *client, s_source_t *sources, size_t count, int timeout_ms,
         kh_record_fn *callback, void *arg)
{
    uint64_t last = 0;
    for (;;) {
        for (size_t i = 0; i < count; i++) {
            int rc = s_refill (client, &sources [i], timeout_ms);
            if (rc)
                return rc;
        }
        s_source_t *source = s_lowest (sources, count);
        if (!source)
            return 0;
        s_copy_t *copy = &source->rows [source->pos++];
        if (copy->info.seq == last)
            continue;                   /* the same record from another query */
        last = copy->info.seq;
        kh_record_t rec = { .info = copy->info, .msg = copy->msg, .msg_size = copy->size };
        if (callback (&rec, arg))
            return 0;
    }
}

int
kh_merge_run (kh_client_t *client, const kh_query_t *queries, size_t count,
              int timeout_ms, kh_record_fn *callback, void *arg)
{
    if (count == 1)
        return kh_client_query (client, &queries [0], 0, timeout_ms, callback, arg);
    s_source_t *sources = (s_source_t *) calloc (count, sizeof *sources);
    int rc = sources ? 0 : KH_ENOMEM;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sources [i].query = queries [i];
        sources [i].rows = (s_copy_t *) calloc (KH_MERGE_TURN, sizeof (s_copy_t));
        rc = sources [i].rows ? 0 : KH_ENOMEM;
    }
    if (rc == 0)
        rc = s_merge (client, sources, count, timeout_ms, callback, arg);
    for (size_t i = 0; sources && i < count; i++) {
        s_drop_rows (&sources [i]);
        free (sources [i].rows);
    }
    free (sources);
    return rc;
}
