/*  kh_live.h - following the hub live, as `subscribe` and `log --follow` do: each
    record the subscriber delivers handed to the command, the store's restarts waited
    out, and on stderr when the hub cannot be reached, goes away or is back.
*/
#ifndef KH_LIVE_H_INCLUDED
#define KH_LIVE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "kreishub/kreishub.h"

/* Shows one record; returns true if it was shown (it counts towards count), false
   if the command passed it over. */
typedef bool (kh_live_fn) (const kh_record_t *rec, void *arg);

/* How to follow. */
typedef struct {
    const char   *program;              /* "kreishub subscribe", in messages */
    const char   *endpoint;             /* the client endpoint, for kh_cli_report */
    const char   *live;                 /* the live endpoint, in messages */
    uint64_t      count;                /* stop after this many shown, 0: no end */
    int           timeout;              /* ms without a record shown, -1: for ever */
    kh_live_fn *show;
    void         *arg;
} kh_live_t;

/* Follows sub until count records were shown, timeout passed, Ctrl-C, or a failure.
   Returns the exit status: 0 (count reached, Ctrl-C, or timeout without count), 3
   (timeout before count records, or a store query the hub did not answer), or
   kh_cli_report's for another failure. */
int kh_live_run (kh_subscriber_t *sub, const kh_live_t *how);

#endif
