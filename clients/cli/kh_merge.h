/*  kh_merge.h - several history queries read as one log: every record once, in
    ascending seq, as if the hub had answered a single query for all of them (the
    hub takes one type and one sender per query; `log --type idea --type offer`
    asks once per type).

    The queries are read in turns of KH_MERGE_TURN records each, the records
    copied, and a record is handed on only when every query still running has a
    record at hand, so that none with a lower seq can follow. Memory is bounded by
    the queries times a turn, whatever the log's length.
*/
#ifndef KH_MERGE_H_INCLUDED
#define KH_MERGE_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "kreishub/kreishub.h"

#define KH_MERGE_TURN  500              /* records read from one query at a time */

/* Runs the count queries through client (their req and limit are chosen here;
   since_seq advances) and calls callback once per record in ascending seq, a seq
   that two queries return only once, until the queries have no more or callback
   returns non-zero. One query is run as kh_client_query runs it. Each turn may take
   up to timeout_ms. Returns 0, or kh_client_query's code for the turn that failed
   (KH_ENOMEM if a record cannot be copied). */
int kh_merge_run (kh_client_t *client, const kh_query_t *queries, size_t count,
                  int timeout_ms, kh_record_fn *callback, void *arg);

#endif
