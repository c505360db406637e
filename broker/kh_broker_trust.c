/*  kh_broker_trust.c - who may speak to the broker (PROTOCOL.md section 11): CURVE on
    its sockets, zauth admitting the certificates of the clients directory, and who
    sent each message, checked against that directory as it is now.

    zauth reads a private copy of the directory (the mirror), not the directory
    itself: czmq's certificate store ends the process when two files carry one key,
    and an operator's `cp x.cert x.cert.bak` must not stop the hub. The broker reads
    the directory with kh_certdir, which takes each key once, and writes what it
    admits into a new generation of the mirror whenever that changes; zauth is then
    told to read that one (a command it answers before the old one is removed).
    So new connections are refused as soon as a certificate is gone, and every
    message is looked up by its sender's key in the same kh_certdir, so that an open
    connection whose certificate was removed is refused from then on too. A live
    subscriber sends nothing after its subscriptions: when a certificate goes, every
    live connection is ended and made again, through zauth.
*/
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kh_broker_priv.h"
#include "kh_plain.h"

/* One zauth per process: czmq's ZAP handler binds a fixed inproc endpoint. */
static atomic_flag s_auth_taken = ATOMIC_FLAG_INIT;

/* ------------------------------------------------------------ the mirror */

/* Removes the generation directory gen of the mirror and the files in it. */
static void
s_mirror_drop (kh_broker_t *self, unsigned gen)
{
    char dir [PATH_MAX];
    snprintf (dir, sizeof dir, "%s/%u", self->mirror, gen);
    zdir_t *files = zdir_new (dir, NULL);
    if (files)
        zdir_remove (files, true);
    zdir_destroy (&files);
}

/* Writes what self->certs admits into a new generation of the mirror and makes
   zauth read it. Returns 0, or -1 after logging why (zauth keeps the last one). */
static int
s_mirror_update (kh_broker_t *self)
{
    char dir [PATH_MAX];
    unsigned gen = self->generation + 1;
    snprintf (dir, sizeof dir, "%s/%u", self->mirror, gen);
    if (mkdir (dir, 0700)) {
        zsys_error ("broker: cannot create %s: %s", dir, strerror (errno));
        return -1;
    }
    if (kh_certdir_export (self->certs, dir)) {
        s_mirror_drop (self, gen);
        return -1;
    }
    zstr_sendx (self->auth, "CURVE", dir, NULL);
    zsock_wait (self->auth);            /* zauth reads the new one from now on */
    if (self->generation)
        s_mirror_drop (self, self->generation);
    self->generation = gen;
    return 0;
}

/* Logs what the clients directory admits. */
static void
s_log_admitted (kh_broker_t *self)
{
    kh_certdir_counts_t n;
    kh_certdir_counts (self->certs, &n);
    zsys_info ("broker: admits %zu certificates of %s (municipality %zu, kreis %zu, "
               "admin %zu, hub %zu, without ags or role %zu; %zu files skipped)", n.certs,
               kh_certdir_path (self->certs), n.roles [KH_ROLE_MUNICIPALITY],
               n.roles [KH_ROLE_KREIS], n.roles [KH_ROLE_ADMIN], n.roles [KH_ROLE_HUB],
               n.roles [KH_ROLE_NONE], n.skipped);
    if (self->link_curve && n.roles [KH_ROLE_HUB] == 0)
        zsys_warning ("broker: no certificate of role hub is admitted: a recorder cannot "
                      "link over %s", self->recorder_ep ? self->recorder_ep : "tcp");
}

void
kh__trust_watch (kh_broker_t *self)
{
    if (self->plain)
        return;
    if (kh_certdir_refresh (self->certs) == 1) {
        s_mirror_update (self);
        s_log_admitted (self);
        self->live_cut |= kh_certdir_revoked (self->certs);
    }
    if (self->live_cut && kh__live_rebind (self) == 0) {
        self->live_cut = false;
        zsys_info ("broker: a certificate was taken away or changed: live subscribers "
                   "connect again");
    }
}

/* ------------------------------------------------------------ life */

/* Checks that plain mode binds loopback endpoints only. Returns 0, or -1 (logged). */
static int
s_plain_check (const char *const endpoints [3])
{
    for (int i = 0; i < 3; i++)
        if (!kh_endpoint_local (endpoints [i])) {
            zsys_error ("broker: plain mode serves this machine only; %s is not a loopback "
                        "endpoint", endpoints [i]);
            return -1;
        }
    return 0;
}

/* Sets up secure mode: our certificate, the clients directory, its mirror and
   zauth. Returns 0, or -1 after logging why. */
static int
s_secure_init (kh_broker_t *self, const kh_broker_config_t *config)
{
    if (!config->cert || !*config->cert || !config->clients || !*config->clients) {
        zsys_error ("broker: secure mode needs the broker's certificate (cert) and the "
                    "directory of the client certificates it admits (clients)");
        return -1;
    }
    kh_problem_t why;
    self->cert = kh_cert_load (config->cert, true, &why);
    if (!self->cert) {
        zsys_error ("broker: %s", why.reason);
        return -1;
    }
    self->certs = kh_certdir_new (config->clients);
    if (!self->certs)
        return -1;
    if (atomic_flag_test_and_set (&s_auth_taken)) {
        zsys_error ("broker: another secure broker runs in this process");
        return -1;
    }
    self->auth_owner = true;
    char root [PATH_MAX];
    const char *tmp = getenv ("TMPDIR");
    snprintf (root, sizeof root, "%s/kreishub-broker-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (root)) {
        zsys_error ("broker: cannot create a private directory in %s: %s",
                    tmp && *tmp ? tmp : "/tmp", strerror (errno));
        return -1;
    }
    self->mirror = strdup (root);
    self->auth = zactor_new (zauth, NULL);
    if (!self->mirror || !self->auth || s_mirror_update (self))
        return -1;
    s_log_admitted (self);
    return 0;
}

int
kh__trust_init (kh_broker_t *self, const kh_broker_config_t *config)
{
    const char *endpoints [3] = {
        config->client ? config->client : KH_DEFAULT_CLIENT,
        config->live ? config->live : KH_DEFAULT_LIVE,
        config->recorder ? config->recorder : KH_DEFAULT_RECORDER };
    self->plain = config->plain;
    self->link_curve = strncmp (endpoints [2], "ipc://", 6) != 0
                    && strncmp (endpoints [2], "inproc://", 9) != 0;
    return self->plain ? s_plain_check (endpoints) : s_secure_init (self, config);
}

void
kh__trust_teardown (kh_broker_t *self)
{
    zactor_destroy (&self->auth);       /* after the sockets: none is left unguarded */
    if (self->mirror) {
        if (self->generation)
            s_mirror_drop (self, self->generation);
        rmdir (self->mirror);
    }
    zstr_free (&self->mirror);
    kh_certdir_destroy (&self->certs);
    zcert_destroy (&self->cert);
    if (self->auth_owner)
        atomic_flag_clear (&s_auth_taken);
    self->auth_owner = false;
}

void
kh__trust_socket (kh_broker_t *self, zsock_t *sock, bool link)
{
    if (self->plain || (link && !self->link_curve))
        return;
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
}

/* ------------------------------------------------------------ who sent it */

/* True if the metadata value mine equals what the certificate says (both absent
   counts as equal). */
static bool
s_same (const char *mine, zcert_t *cert, const char *key)
{
    const char *theirs = zcert_meta (cert, key);
    return mine && theirs ? streq (mine, theirs) : !mine && !theirs;
}

/* Finds the admitted certificate of the peer that sent msg: read on its command
   frame (a ROUTER that reads ahead while polled builds the routing id frame without
   the peer's metadata), as zauth passed it when the peer connected, and looked up
   in the directory as it is now. Returns it, or NULL with why set (FORBIDDEN). */
static zcert_t *
s_certificate (kh_broker_t *self, kh_parts_t *msg, kh_problem_t *why)
{
    zmq_msg_t *frame = kh_parts_at (msg, 1);
    const char *key = frame ? zmq_msg_gets (frame, "User-Id") : NULL;
    if (!key || !*key) {
        kh_problem (why, KH_EFORBIDDEN, "no identity: this connection is not "
                    "authenticated by a certificate");
        return NULL;
    }
    zcert_t *cert = kh_certdir_lookup (self->certs, key);
    if (!cert)
        kh_problem (why, KH_EFORBIDDEN, "your certificate is not admitted by this hub "
                    "(any more)");
    else
    if (!s_same (zmq_msg_gets (frame, KH_CERT_AGS), cert, KH_CERT_AGS)
    ||  !s_same (zmq_msg_gets (frame, KH_CERT_ROLE), cert, KH_CERT_ROLE)) {
        kh_problem (why, KH_EFORBIDDEN, "your certificate changed since you connected; "
                    "connect again");
        cert = NULL;
    }
    return cert;
}

int
kh__trust_client (kh_broker_t *self, kh_parts_t *msg, kh__peer_t *peer, kh_problem_t *why)
{
    memset (peer, 0, sizeof *peer);
    peer->anonymous = self->plain;
    if (self->plain)
        return 0;
    zcert_t *cert = s_certificate (self, msg, why);
    if (!cert || kh_ident_of (&peer->ident, cert, why))
        return -1;
    if (peer->ident.role == KH_ROLE_HUB)
        return kh_problem (why, KH_EFORBIDDEN, "a certificate of role hub links a "
                           "recorder; it is refused here");
    return 0;
}

void
kh__trust_link_message (kh_broker_t *self, kh_parts_t *msg)
{
    if (self->plain || !self->link_curve) {
        kh__link_message (self, msg);
        return;
    }
    kh_problem_t why;
    zcert_t *cert = s_certificate (self, msg, &why);
    if (cert && kh_role_parse (zcert_meta (cert, KH_CERT_ROLE)) == KH_ROLE_HUB)
        kh__link_message (self, msg);
    else {
        self->stats.ignored++;
        zsys_warning ("broker: ignored on the recorder link: %s", cert ? "a certificate "
                      "whose role is not hub" : why.reason);
    }
}
