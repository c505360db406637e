/*  publish_follow.c - a municipality's own integration with its Kreis' hub: it
    publishes an offer, then follows the offers of everyone, catching up from the
    store first, and prints each one it receives.

    It uses only the installed libkreishub (#include <kreishub/kreishub.h>). Build it
    with the Makefile here (pkg-config) or with CMakeLists.txt (find_package).

        publish_follow --cert FILE --server-cert FILE [-e CLIENT_EP] [-l LIVE_EP]
                       [-f AGS] [-t TITLE] [-n COUNT] [-w MS]
        publish_follow --plain [-e CLIENT_EP] ...

    --cert         the municipality's certificate with its secret key, e.g.
                   05162008.cert_secret (env KREISHUB_CERT): the hub knows it by it
    --server-cert  the hub's public certificate, server.cert (env KREISHUB_SERVER_CERT)
    --plain        no certificates: a hub in plain mode on this machine
    -e, -l  the broker's client and live endpoints (default the hub's defaults)
    -f      the AGS it publishes as (default: its certificate's; plain: 05162008,
            Grevenbroich). A secure hub refuses another than the certificate's.
    -t      the offer's title
    -n      stop after COUNT offers received (default: no limit)
    -w      stop after MS without an offer (default 3000)

    Exit status: 0 if its own offer came back among those received, 1 if not or on
    an error, 2 for bad usage.
*/
#define _POSIX_C_SOURCE 200809L         /* getopt */
#include <kreishub/kreishub.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *client;                 /* broker's client endpoint */
    const char *live;                   /* broker's live endpoint */
    const char *from;                   /* our AGS (NULL: the certificate's) */
    const char *title;                  /* of the offer we publish */
    int         count;                  /* offers to receive, 0: no limit */
    int         wait_ms;                /* quiet time that ends the follow */
    const char *cert;                   /* our certificate, with its secret key */
    const char *server_cert;            /* the hub's public certificate */
    int         plain;                  /* 1: no certificates (a plain hub) */
    kh_keys_t  *keys;                   /* loaded from cert and server_cert */
} s_args_t;

/* Reads a number from 0 to INT_MAX into *value. Returns 0, or -1 if text is none. */
static int
s_number (const char *text, int *value)
{
    char *end;
    errno = 0;
    long n = strtol (text, &end, 10);
    if (end == text || *end || errno || n < 0 || n > INT_MAX)
        return -1;
    *value = (int) n;
    return 0;
}

/* Reads the command line into args. Returns 0, or -1 on bad usage. */
static int
s_parse_args (int argc, char *argv [], s_args_t *args)
{
    const struct option longs [] = {
        { "cert", required_argument, NULL, 'c' },
        { "server-cert", required_argument, NULL, 's' },
        { "plain", no_argument, &args->plain, 1 },
        { NULL, 0, NULL, 0 }
    };
    int opt;
    while ((opt = getopt_long (argc, argv, "e:l:f:t:n:w:", longs, NULL)) != -1) {
        switch (opt) {
            case 0:   break;            /* --plain */
            case 'c': args->cert = optarg; break;
            case 's': args->server_cert = optarg; break;
            case 'e': args->client = optarg; break;
            case 'l': args->live = optarg; break;
            case 'f': args->from = optarg; break;
            case 't': args->title = optarg; break;
            case 'n': if (s_number (optarg, &args->count)) return -1; break;
            case 'w': if (s_number (optarg, &args->wait_ms)) return -1; break;
            default:  return -1;
        }
    }
    return optind == argc ? 0 : -1;
}

/* Builds our offer into builder, under a new id (copied to id). Returns 0, or -1
   after saying why. */
static int
s_build_offer (kh_builder_t *builder, const s_args_t *args, uint8_t id [KH_ID_SIZE])
{
    /* Field name, value: as `kreishub publish offer --FIELD VALUE` takes them. */
    const char *fields [][2] = {
        { "title",        args->title },
        { "description",  "Die Stadt betreibt ihre E-Akte für andere Kommunen des Kreises mit." },
        { "hf",           "2" },
        { "keywords",     "E-Akte, Shared Service" },
        { "lead",         args->from },
        { "participants", "05162004, 05162024" },
        { "maturity",     "stable" },
        { "cost",         "nach Aufwand" },
    };
    kh_problem_t why;
    for (size_t i = 0; i < sizeof fields / sizeof fields [0]; i++)
        if (kh_builder_set (builder, fields [i][0], fields [i][1], &why)) {
            fprintf (stderr, "publish_follow: %s: %s\n", fields [i][0], why.reason);
            return -1;
        }
    kh_id_new (id);
    if (kh_builder_encode (builder, id, args->from, kh_now_ms (), &why)) {
        fprintf (stderr, "publish_follow: not a valid offer: %s\n", why.reason);
        return -1;
    }
    return 0;
}

/* Loads our keys, unless plain, and takes our AGS from them if -f did not give it.
   Returns 0, or -1 after saying why. */
static int
s_load_keys (s_args_t *args)
{
    if (args->plain) {
        args->from = args->from ? args->from : "05162008";
        return 0;
    }
    if (!args->cert || !args->server_cert) {
        fprintf (stderr, "publish_follow: the hub knows us by our certificate: give "
                 "--cert FILE and --server-cert FILE\n(or KREISHUB_CERT and "
                 "KREISHUB_SERVER_CERT), or --plain for a hub in plain mode\n");
        return -1;
    }
    kh_problem_t why;
    args->keys = kh_keys_load (args->cert, args->server_cert, &why);
    if (!args->keys) {
        fprintf (stderr, "publish_follow: %s\n", why.reason);
        return -1;
    }
    args->from = args->from ? args->from : kh_keys_ags (args->keys);
    return 0;
}

/* Publishes our offer and waits until the hub has stored it. Returns 0, or -1 after
   saying why. */
static int
s_publish_offer (const s_args_t *args, uint8_t id [KH_ID_SIZE])
{
    kh_builder_t *builder = kh_builder_new ("offer");
    kh_client_t *client = args->keys ? kh_client_new_secure (args->client, args->keys)
                                     : kh_client_new (args->client);
    int rc = builder && client ? s_build_offer (builder, args, id) : -1;
    if (rc == 0) {
        size_t size;
        const void *data = kh_builder_data (builder, &size);
        uint64_t seq;
        bool dup;
        kh_error_reply_t err;
        int code = kh_client_publish (client, data, size, 5000, 3, &seq, &dup, &err);
        if (code == KH_OK)
            printf ("published offer as seq %llu\n", (unsigned long long) seq);
        else {
            /* KH_ETIMEOUT leaves it open: publishing the same bytes again (same id)
               stores the offer at most once. */
            fprintf (stderr, "publish_follow: not stored: %s: %s\n", kh_errname (code),
                     err.code ? err.reason : kh_strerror (code));
            rc = -1;
        }
    }
    kh_client_destroy (&client);
    kh_builder_destroy (&builder);
    return rc;
}

/* Prints one record; returns true if it is the message with our id. */
static bool
s_print_record (const kh_record_t *rec, const uint8_t id [KH_ID_SIZE])
{
    kh_envelope_t env;
    kh_problem_t why;
    if (kh_envelope_check (rec->msg, rec->msg_size, &env, NULL, &why)) {
        printf ("seq %llu: unreadable (%s)\n", (unsigned long long) rec->info.seq,
                why.reason);
        return false;
    }
    bool ours = memcmp (env.id, id, KH_ID_SIZE) == 0;
    printf ("seq %llu: %s from %s: %s%s\n", (unsigned long long) rec->info.seq, env.type,
            env.from, env.title, ours ? " (ours)" : "");
    return ours;
}

/* Follows the offers of everyone from seq 1 on: the stored ones first, then live.
   Returns 0 if ours was among them, 1 if not, -1 on an error. */
static int
s_follow_offers (const s_args_t *args, const uint8_t id [KH_ID_SIZE])
{
    kh_subscriber_t *subscriber = args->keys
        ? kh_subscriber_new_secure (args->client, args->live, args->keys, "offer", NULL, 1)
        : kh_subscriber_new (args->client, args->live, "offer", NULL, 1);
    if (!subscriber) {
        fprintf (stderr, "publish_follow: cannot follow %s\n", args->live);
        return -1;
    }
    bool seen = false;
    int rc = 0;
    for (int n = 0; args->count == 0 || n < args->count; n++) {
        kh_record_t rec;
        int code = kh_subscriber_next (subscriber, args->wait_ms, &rec);
        if (code == KH_ETIMEOUT)
            break;                      /* quiet for wait_ms: done */
        if (code != KH_OK) {
            fprintf (stderr, "publish_follow: %s\n", kh_strerror (code));
            rc = -1;
            break;
        }
        seen |= s_print_record (&rec, id);
    }
    kh_subscriber_destroy (&subscriber);
    return rc ? rc : seen ? 0 : 1;
}

int
main (int argc, char *argv [])
{
    s_args_t args = { KH_DEFAULT_CLIENT, KH_DEFAULT_LIVE, NULL, "E-Akte als Shared Service",
                      0, 3000, getenv ("KREISHUB_CERT"), getenv ("KREISHUB_SERVER_CERT"), 0,
                      NULL };
    if (s_parse_args (argc, argv, &args)) {
        fprintf (stderr, "usage: publish_follow --cert FILE --server-cert FILE | --plain\n"
                         "       [-e CLIENT_EP] [-l LIVE_EP] [-f AGS] [-t TITLE] "
                         "[-n COUNT] [-w MS]\n");
        return 2;
    }
    uint8_t id [KH_ID_SIZE];
    int rc = s_load_keys (&args) || s_publish_offer (&args, id)
           || s_follow_offers (&args, id) != 0 ? 1 : 0;
    kh_keys_destroy (&args.keys);
    return rc;
}
