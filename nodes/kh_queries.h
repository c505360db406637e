/*  kh_queries.h - the recorder's query actor: the reads the broker passes on
    ([QUERY|AUDIT_QUERY|ITEMS|STATS][client][query]) answered from a read-only store,
    one at a time, beside the writer (kh_recorder.h), as [ROWS|AUDIT_ROWS][client][reply]
    or [ERROR|AUDIT_ERROR][client][error] (PROTOCOL.md sections 5, 8 and 14). */
#ifndef KH_QUERIES_H_INCLUDED
#define KH_QUERIES_H_INCLUDED

#include <msgpack.h>
#include <czmq.h>
#include "kh_parts.h"
#include "kh_store.h"

/* The query actor (for zactor_new): owns the read-only store args (kh_store_new_reader)
   and answers the three-frame reads sent down its pipe, each up the pipe, until
   "$TERM"; then destroys the store. Anything else on the pipe is dropped. */
void kh_queries_actor (zsock_t *pipe, void *args);

/* Encodes into buf the ERROR that refuses msg, a read the actor cannot take now:
   UNAVAILABLE, or QUERY if msg is not even a read of its kind; sets *command to the
   error's command frame (ERROR or AUDIT_ERROR). msg must be a three-frame read the
   recorder's command table routes to the actor. Returns 0, or -1 if out of memory. */
int kh_queries_refusal (kh_parts_t *msg, msgpack_sbuffer *buf, const char **command);

#endif
