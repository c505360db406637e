/*  it_standby.c - two recorders and one broker, under load.

    On one store: the second recorder waits as a standby, without READY and without
    a word to the broker, while the first holds the store's lock. When the first is
    killed (-9) while a publisher keeps a window of publishes in flight, the standby
    takes over within about a second; UNAVAILABLE answers fall only into that gap,
    the broker links a recorder twice in all (no switching back and forth), and every
    acknowledged message is stored once.

    On two stores (an operator's mistake): the broker stays with the recorder it has
    while that one lives and ignores the other's HELLOs, so every message lands in
    the first store; once the first is killed, the other takes over.
*/
#include <signal.h>
#include <sys/wait.h>
#include <czmq.h>
#include "kreishub/kreishub.h"
#include "kh_harness.h"
#include "kh_tracker.h"

#define S_WINDOW        20      /* publishes in flight */
#define S_RETRY_MS      100     /* a publish refused UNAVAILABLE goes again after this */
#define S_RESEND_MS     1000    /* an unanswered one after this */
#define S_WAIT_MS       5000    /* a recorder must be up, a phase end, within this */
#define S_LOAD_MS       400     /* load before the kill */
#define S_AFTER_MS      400     /* load after the takeover */
#define S_GAP_MS        1500    /* the longest a takeover may leave publishes unacknowledged */
#define S_TWO_MS        1500    /* two recorders HELLO side by side for this long */

/* ------------------------------------------------------------------ helpers */

/* Starts another kreishub-recorder on db against the hub's broker, with the hub's
   recorder certificate (as the harness starts its own); its stderr goes to
   DIR/NAME.err. Returns it, or NULL. */
static kh_proc_t *
s_recorder (kh_hub_t *hub, const char *db, const char *name)
{
    char program [512], err [400], cert [400];
    const char *bin = getenv ("KH_BIN_DIR");
    snprintf (program, sizeof program, "%s/kreishub-recorder", bin ? bin : ".");
    snprintf (err, sizeof err, "%s/%s.err", hub->dir, name);
    snprintf (cert, sizeof cert, "%s/hub-" KH_HUB_KREIS ".cert", hub->certs);
    const char *argv [] = { program, "--broker", hub->recorder, "--db", db, "--cert", cert,
                            "--server-cert", hub->server_cert, NULL };
    kh_proc_opts_t opts = { .name = name, .err_path = err };
    return kh_proc_new (argv, &opts);
}

/* Counts the times needle occurs in the file DIR/NAME.err. */
static int
s_log_count (kh_hub_t *hub, const char *name, const char *needle)
{
    char path [400], text [65536];
    snprintf (path, sizeof path, "%s/%s.err", hub->dir, name);
    kh_hub_slurp (path, text, sizeof text);
    int count = 0;
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle))
        count++;
    return count;
}

/* Counts the publishes sent and not acknowledged: in flight, or refused and to be
   sent again. */
static int
s_open (kh_tracker_t *pub)
{
    int count = 0;
    for (int i = 0; i < pub->count; i++)
        count += pub->msgs [i].sent_at && !pub->msgs [i].acks;
    return count;
}

/* Keeps S_WINDOW publishes open (s_open) for ms (new ones if make; else until all are
   answered), sending again what was refused UNAVAILABLE (after S_RETRY_MS) or not
   answered (after S_RESEND_MS). Reads what watch prints meanwhile, if not NULL;
   stops early once stop (if not NULL) returns true. */
static void
s_load (kh_tracker_t *pub, int ms, bool make, kh_proc_t *watch,
        bool (*stop) (kh_proc_t *watch))
{
    int64_t end = zclock_mono () + ms;
    while (zclock_mono () < end && !(stop && stop (watch))) {
        while (make && s_open (pub) < S_WINDOW)
            kh_tracker_send (pub, kh_tracker_make (pub, "standby"));
        kh_tracker_take (pub, 5);
        int64_t now = zclock_mono ();
        for (int i = 0; i < pub->count; i++) {
            kh_tracked_t *msg = &pub->msgs [i];
            bool refused = msg->error == KH_EUNAVAILABLE && !msg->acks
                        && now - msg->sent_at > S_RETRY_MS;
            bool lost = !msg->acks && !msg->error && now - msg->sent_at > S_RESEND_MS;
            if (refused || lost) {
                msg->error = 0;
                kh_tracker_send (pub, i);
            }
        }
        if (watch)
            kh_proc_wait (&watch, 1, 0, -1);
        if (!make && s_open (pub) == 0)
            break;
    }
}

/* True once the recorder watch said READY. */
static bool
s_ready (kh_proc_t *watch)
{
    return kh_proc_ready (watch) != NULL;
}

/* Returns the longest time (ms) between two ACKs that came after from. */
static int64_t
s_longest_gap (kh_tracker_t *pub, int64_t from)
{
    int64_t gap = 0, last = from;
    for (int64_t t = from; ; ) {          /* ACK times in order, by repeated minimum */
        int64_t next = INT64_MAX;
        for (int i = 0; i < pub->count; i++)
            if (pub->msgs [i].acked_at > t && pub->msgs [i].acked_at < next)
                next = pub->msgs [i].acked_at;
        if (next == INT64_MAX)
            break;
        if (next - last > gap)
            gap = next - last;
        last = t = next;
    }
    return gap;
}

/* Stops the recorder proc with SIGTERM; returns its wait status. */
static int
s_stop (kh_proc_t **proc)
{
    kh_proc_signal (*proc, SIGTERM);
    int status = kh_proc_reap (*proc, S_WAIT_MS);
    kh_proc_destroy (proc);
    return status;
}

/* Checks the store at path against what the publisher was told. */
static void
s_check_store (const char *what, kh_tracker_t *pub, const char *path, int acked)
{
    kh_tracker_report_t report = kh_tracker_check (pub, what, path);
    char name [160];
    snprintf (name, sizeof name, "%s: every acknowledged publish is stored once, at its "
              "seq, and every publish was answered", what);
    KH_CHECK (name, report.acked_wrong == 0 && report.unanswered == 0
              && report.refused_stored == 0 && report.rows == acked,
              "%d wrong, %d unanswered, %d refused yet stored, %d rows for %d ACKs",
              report.acked_wrong, report.unanswered, report.refused_stored, report.rows,
              acked);
}

/* Counts the messages acknowledged. */
static int
s_acked (kh_tracker_t *pub)
{
    int count = 0;
    for (int i = 0; i < pub->count; i++)
        count += pub->msgs [i].acks > 0;
    return count;
}

/* ------------------------------------------------------------------ one store */

static void
test_standby (void)
{
    kh_hub_t hub;
    int rc = kh_hub_start (&hub, NULL, NULL);
    kh_tracker_t *pub = rc == 0 ? kh_tracker_new (&hub) : NULL;
    char db [400];
    snprintf (db, sizeof db, "%s/kreishub.db", hub.dir);
    kh_proc_t *standby = pub ? s_recorder (&hub, db, "standby") : NULL;
    KH_CHECK ("a hub and a second recorder on its store start", standby, "rc %d", rc);
    if (!standby) {
        kh_hub_stop (&hub, true);
        return;
    }
    int64_t end = zclock_mono () + S_WAIT_MS;
    while (s_log_count (&hub, "standby", "standby") == 0 && zclock_mono () < end)
        kh_proc_wait (&standby, 1, 10, -1);
    s_load (pub, S_LOAD_MS, true, standby, NULL);
    KH_CHECK ("the second recorder waits as a standby: no READY, not linked",
              s_log_count (&hub, "standby", "standby") > 0 && !kh_proc_ready (standby)
              && kh_proc_running (standby)
              && s_log_count (&hub, "kreishub-broker", "recorder connected") == 1,
              "ready '%s', broker linked %d times", kh_proc_ready (standby)
              ? kh_proc_ready (standby) : "", s_log_count (&hub, "kreishub-broker",
                                                           "recorder connected"));
    int before = s_acked (pub);
    int64_t killed = zclock_mono ();
    kh_hub_stop_recorder (&hub, SIGKILL);
    s_load (pub, S_WAIT_MS, true, standby, s_ready);
    int64_t ready = zclock_mono () - killed;
    s_load (pub, S_AFTER_MS, true, standby, NULL);
    s_load (pub, S_WAIT_MS, false, standby, NULL);
    int64_t gap = s_longest_gap (pub, killed - 100);
    printf ("it_standby: the standby said READY %lld ms after the kill; longest time "
            "without an ACK %lld ms; %llu UNAVAILABLE within %lld ms; %d ACKs before "
            "the kill, %d in all\n", (long long) ready, (long long) gap,
            (unsigned long long) pub->unavailable,
            (long long) (pub->unavailable ? pub->unavailable_last - pub->unavailable_first
                                          : 0), before, s_acked (pub));
    KH_CHECK ("the standby takes over within a second of the kill, publishing goes on",
              kh_proc_ready (standby) && ready < 1000 && gap < S_GAP_MS
              && s_acked (pub) > before, "READY after %lld ms, gap %lld ms",
              (long long) ready, (long long) gap);
    KH_CHECK ("UNAVAILABLE only within the takeover, no storm",
              pub->unavailable == 0 || (pub->unavailable_first >= killed
                                        && pub->unavailable_last - killed < S_GAP_MS),
              "%llu from %lld to %lld ms after the kill",
              (unsigned long long) pub->unavailable,
              (long long) (pub->unavailable_first - killed),
              (long long) (pub->unavailable_last - killed));
    KH_CHECK ("the broker linked a recorder twice in all: the first, then the standby",
              s_log_count (&hub, "kreishub-broker", "recorder connected") == 2,
              "%d times", s_log_count (&hub, "kreishub-broker", "recorder connected"));
    int status = s_stop (&standby);
    KH_CHECK ("the recorder that took over stops cleanly", WIFEXITED (status)
              && WEXITSTATUS (status) == 0, "status 0x%x", status);
    rc = kh_hub_stop (&hub, true);
    s_check_store ("standby", pub, db, s_acked (pub));
    kh_tracker_done (&pub, hub.dir, s_failed > 0);
}

/* ------------------------------------------------------------------ two stores */

static void
test_two_stores (void)
{
    kh_hub_t hub;
    int rc = kh_hub_start (&hub, NULL, NULL);
    kh_tracker_t *pub = rc == 0 ? kh_tracker_new (&hub) : NULL;
    char first [400], second [400];
    snprintf (first, sizeof first, "%s/kreishub.db", hub.dir);
    snprintf (second, sizeof second, "%s/other/kreishub.db", hub.dir);
    kh_proc_t *other = pub ? s_recorder (&hub, second, "other") : NULL;
    rc = other ? kh_proc_await_ready (other, S_WAIT_MS, -1) : -1;
    KH_CHECK ("a hub and a recorder of another store start", rc == 0, "rc %d", rc);
    if (rc) {
        kh_proc_destroy (&other);
        kh_tracker_destroy (&pub);
        kh_hub_stop (&hub, true);
        return;
    }
    s_load (pub, S_TWO_MS, true, other, NULL);
    s_load (pub, S_WAIT_MS, false, other, NULL);
    int acked = s_acked (pub);
    long long in_first = kh_tracker_number (first, "SELECT count (*) FROM message");
    long long in_second = kh_tracker_number (second, "SELECT count (*) FROM message");
    KH_CHECK ("the broker stays with the recorder it has while it lives: every message "
              "lands in the first store", acked > 0 && in_first == acked && in_second == 0,
              "%d ACKs, %lld in the first store, %lld in the second", acked, in_first,
              in_second);
    KH_CHECK ("the other recorder's HELLOs are ignored and said so",
              s_log_count (&hub, "kreishub-broker", "recorder connected") == 1
              && s_log_count (&hub, "kreishub-broker", "second recorder") > 0,
              "linked %d times", s_log_count (&hub, "kreishub-broker", "recorder connected"));
    int64_t killed = zclock_mono ();
    kh_hub_stop_recorder (&hub, SIGKILL);
    int index = kh_tracker_make (pub, "after the kill");
    kh_tracker_send (pub, index);
    s_load (pub, S_WAIT_MS, false, other, NULL);
    int64_t taken = pub->msgs [index].acked_at - killed;
    long long moved = kh_tracker_number (second, "SELECT count (*) FROM message");
    printf ("it_standby: two stores: the other recorder took over %lld ms after the "
            "kill\n", (long long) taken);
    KH_CHECK ("once the first is killed, the other recorder takes over",
              pub->msgs [index].acks == 1 && moved == 1 && taken < 2 * S_GAP_MS,
              "%d ACKs, %lld in the second store, after %lld ms", pub->msgs [index].acks,
              moved, (long long) taken);
    s_stop (&other);
    kh_hub_stop (&hub, true);
    kh_tracker_done (&pub, hub.dir, s_failed > 0);
}

int
main (void)
{
    zsys_init ();
    test_standby ();
    test_two_stores ();
    return kh_check_done ("it_standby");
}
