/*  kh_live.c - following the hub live for subscribe and log --follow (see
    kh_live.h). */
#include "kh_cli.h"
#include "kh_live.h"

/* True for a refusal that passes: the store is restarting or busy. */
static bool
s_transient (int code)
{
    return code == KH_EUNAVAILABLE || code == KH_ESTORE;
}

/* Waits out a transient refusal of the store, saying so once per streak. Returns
   true to try again, false if --timeout passed since the last record. */
static bool
s_wait_store (const kh_live_t *how, int64_t since, bool *warned, int code)
{
    if (!*warned)
        fprintf (stderr, "%s: %s: %s; trying again\n", how->program, kh_errname (code),
                 kh_strerror (code));
    *warned = true;
    if (how->timeout >= 0 && zclock_mono () - since > how->timeout)
        return false;
    zclock_sleep (200);
    return !zsys_interrupted;
}

#define S_SLICE          250            /* ms between looks at the connection */
#define S_NO_HUB_AFTER   1000           /* ms without a connection before saying so */

/* What subscribe has told of the live connection. */
typedef struct {
    const char *program;
    const char *live;                   /* the live endpoint */
    kh_link_t   told;                   /* the state last told (NONE: none yet) */
    bool        missed;                 /* said that the hub cannot be reached */
    int64_t     start;                  /* zclock_mono when following began */
} s_link_t;

/* Says on stderr when the live connection changed since it was last told: the hub
   cannot be reached (after S_NO_HUB_AFTER ms without a connection), is reached,
   went away, is back, or refused the connection. */
static void
s_tell_link (kh_subscriber_t *sub, s_link_t *state)
{
    kh_link_t link = kh_subscriber_link (sub);
    const char *live = state->live;
    if (link == KH_LINK_NONE && !state->missed
    &&  zclock_mono () - state->start >= S_NO_HUB_AFTER) {
        fprintf (stderr, "%s: cannot reach the hub at %s; trying on\n", state->program,
                 live);
        state->missed = true;
    }
    if (link == state->told || link == KH_LINK_NONE)
        return;
    if (link == KH_LINK_UP && state->told == KH_LINK_LOST)
        fprintf (stderr, "%s: the hub at %s is back\n", state->program, live);
    else
    if (link == KH_LINK_UP && (state->missed || state->told == KH_LINK_REFUSED))
        fprintf (stderr, "%s: connected to the hub at %s\n", state->program, live);
    else
    if (link == KH_LINK_LOST)
        fprintf (stderr, "%s: the hub at %s went away; waiting for it to come back\n",
                 state->program, live);
    else
    if (link == KH_LINK_REFUSED)
        fprintf (stderr, "%s: the hub at %s refused the connection: it does not admit "
                 "this certificate, or it is not the hub of the server certificate given; "
                 "trying on\n", state->program, live);
    state->told = link;
}

/* How long the next wait may take: what is left of --timeout since the last
   record shown at shown_at (-1: for ever), at most S_SLICE. */
static int
s_slice (const kh_live_t *how, int64_t shown_at)
{
    if (how->timeout < 0)
        return S_SLICE;
    int64_t left = shown_at + how->timeout - zclock_mono ();
    return left <= 0 ? 0 : left < S_SLICE ? (int) left : S_SLICE;
}

/* True once --timeout has passed since shown_at. */
static bool
s_timed_out (const kh_live_t *how, int64_t shown_at)
{
    return how->timeout >= 0 && zclock_mono () - shown_at >= how->timeout;
}

int
kh_live_run (kh_subscriber_t *sub, const kh_live_t *how)
{
    s_link_t link = { .program = how->program, .live = how->live, .told = KH_LINK_NONE,
                      .start = zclock_mono () };
    uint64_t shown = 0;
    int64_t shown_at = zclock_mono ();
    bool warned = false;
    while (!how->count || shown < how->count) {
        kh_record_t rec;
        int rc = kh_subscriber_next (sub, s_slice (how, shown_at), &rec);
        s_tell_link (sub, &link);
        if (rc == KH_ETIMEOUT && !zsys_interrupted && !s_timed_out (how, shown_at))
            continue;
        if (rc == KH_ETIMEOUT) {
            if (zsys_interrupted || !how->count)
                return KH_EXIT_OK;
            fprintf (stderr, "%s: no record for %d ms (%llu of %llu shown)\n", how->program,
                     how->timeout, (unsigned long long) shown,
                     (unsigned long long) how->count);
            return KH_EXIT_UNREACHABLE;
        }
        if (s_transient (rc) && s_wait_store (how, shown_at, &warned, rc))
            continue;
        if (rc)
            return zsys_interrupted ? KH_EXIT_OK
                                    : kh_cli_report (how->endpoint, rc, NULL, KH_LINK_UNKNOWN);
        warned = false;
        if (!how->show (&rec, how->arg))
            continue;
        fflush (stdout);
        shown++;
        shown_at = zclock_mono ();
    }
    return KH_EXIT_OK;
}
