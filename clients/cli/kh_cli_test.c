/*  kh_cli_test.c - the kreishub program (env KH_KREISHUB) against an in-process fake
    broker that serves CURVE (this test's zauth admits the program's certificate):
    what each command prints and its exit status, endpoint, sender and certificate
    resolution from the environment and a config file, plain mode's refusals, and
    keygen. KH_CLI_WRAP (e.g. a valgrind command) runs the program under a wrapper. */
#include <sys/stat.h>
#include <sys/wait.h>
#include "kh_cert.h"
#include "kh_check.h"
#include "kh_fake_hub.h"
#include "kreishub/kreishub.h"

static const char *s_program;
static char s_dir [64];                 /* temporary files */
static char s_cert [128];               /* the program's certificate: 05162012's */
static char s_server [128];             /* the fake hub's public certificate */
static kh_fake_hub_t s_hub;

/* Runs the program with args (a shell fragment) after the environment assignments
   env, stdout into out and stderr into err. Returns the exit status. */
static int
s_run_env (const char *env, char *out, size_t out_cap, char *err, size_t err_cap,
           const char *args)
{
    char cmd [4600];
    const char *wrap = getenv ("KH_CLI_WRAP");
    snprintf (cmd, sizeof cmd, "KREISHUB_CERT='%s' KREISHUB_SERVER_CERT='%s' KREISHUB_PLAIN= "
              "%s KREISHUB_FROM= KREISHUB_CONFIG= %s '%s' %s 2>'%s/stderr'", s_cert, s_server,
              env, wrap ? wrap : "", s_program, args, s_dir);
    FILE *pipe = popen (cmd, "r");
    size_t n = pipe ? fread (out, 1, out_cap - 1, pipe) : 0;
    out [n] = 0;
    int status = pipe ? pclose (pipe) : -1;
    char path [128];
    snprintf (path, sizeof path, "%s/stderr", s_dir);
    FILE *file = fopen (path, "r");
    n = file ? fread (err, 1, err_cap - 1, file) : 0;
    err [n] = 0;
    if (file)
        fclose (file);
    return status >= 0 && WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Runs the program with the fake hub's endpoints in the environment. */
static int
s_run (char *out, size_t out_cap, char *err, size_t err_cap, const char *args)
{
    char env [256];
    snprintf (env, sizeof env, "KREISHUB_ENDPOINT='%s' KREISHUB_LIVE='%s'", s_hub.client,
              s_hub.live);
    return s_run_env (env, out, out_cap, err, err_cap, args);
}

/* Counts the lines of text. */
static int
s_lines (const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

static void
s_test_publish (void)
{
    char out [8192], err [1024];
    int rc = s_run (out, sizeof out, err, sizeof err,
                    "publish idea --from 05162012 --title 'Gemeinsame Bauhof-Software' "
                    "--hf 2 --keywords 'Bauhof, Software' --participants 05162028");
    KH_CHECK ("publish prints the seq and exits 0", rc == 0 && streq (out, "seq 1\n"),
              "rc %d out '%s' err '%s'", rc, out, err);
    const char *again = "publish offer --id 017ce42a-3800-7000-8000-000000000002 "
                        "--from 05162 --ts 2021-09-29 --title Fortbildung --cost kostenfrei";
    rc = s_run (out, sizeof out, err, sizeof err, again);
    KH_CHECK ("publish with a given id and time stores it", rc == 0 && streq (out, "seq 2\n"),
              "rc %d out '%s' err '%s'", rc, out, err);
    rc = s_run (out, sizeof out, err, sizeof err, again);
    KH_CHECK ("publishing the same id again says duplicate and exits 0",
              rc == 0 && streq (out, "seq 2 (duplicate)\n"), "rc %d out '%s'", rc, out);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish idea --from 05162012 --title ''");
    KH_CHECK ("a message invalid locally exits 1 with the codec's reason",
              rc == 1 && strstr (err, "RANGE: body.title"), "rc %d err '%s'", rc, err);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish idea --from 05162012 --title x --colour red");
    KH_CHECK ("an unknown field exits 1 naming it", rc == 1 && strstr (err, "colour"),
              "rc %d err '%s'", rc, err);
    rc = s_run (out, sizeof out, err, sizeof err, "--plain publish idea --title x");
    KH_CHECK ("publish without a sender or a certificate exits 1", rc == 1
              && strstr (err, "--from"), "rc %d err '%s'", rc, err);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish idea --from 05162012 --title x --ts yesterday");
    KH_CHECK ("a --ts that is not a time exits 1", rc == 1, "rc %d err '%s'", rc, err);

    kh_fake_hub_mode (&s_hub, "reject", 1);
    rc = s_run (out, sizeof out, err, sizeof err, "publish idea --from 05162012 --title x");
    KH_CHECK ("a refusal by the hub exits 2 and prints its name and reason",
              rc == 2 && streq (err, "kreishub: rejected: MISSING: "
                                     "body.title: required field missing\n"),
              "rc %d err '%s'", rc, err);
    kh_fake_hub_mode (&s_hub, "silent", 2);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish idea --from 05162012 --title x --timeout 100 --retries 1");
    char expect [256];
    snprintf (expect, sizeof expect, "kreishub: connected to the hub at %s, but no answer in "
              "time\n", s_hub.client);
    KH_CHECK ("a hub that does not answer exits 3, saying it was reached",
              rc == 3 && strncmp (err, expect, strlen (expect)) == 0
              && strstr (err, "it may still be stored; retry with --id "), "rc %d err '%s'",
              rc, err);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish idea --from 05162012 --title x -e tcp://127.0.0.1:1 -t 100 -r 0");
    KH_CHECK ("a hub that is not there exits 3, saying there is no connection, and that "
              "nothing can be stored", rc == 3
              && strstr (err, "kreishub: no connection to the hub at tcp://127.0.0.1:1 (it "
                              "does not run there, or the endpoint is wrong)\n")
              && !strstr (err, "may still be stored"), "rc %d err '%s'", rc, err);
}

static void
s_test_sources (void)
{
    char out [8192], err [1024], args [1024];
    snprintf (args, sizeof args, "%s/body.json", s_dir);
    FILE *file = fopen (args, "w");
    fputs ("{\"title\": \"Aus JSON\", \"hf\": 3, \"keywords\": [\"a\", \"b\"]}", file);
    fclose (file);
    snprintf (args, sizeof args, "publish idea --json '%s/body.json' --title Überschrieben "
              "--from 05162012", s_dir);
    int rc = s_run (out, sizeof out, err, sizeof err, args);
    KH_CHECK ("fields from a JSON file are published", rc == 0 && streq (out, "seq 3\n"),
              "rc %d out '%s' err '%s'", rc, out, err);
    rc = s_run (out, sizeof out, err, sizeof err, "log --since 3 --format json");
    KH_CHECK ("a flag after --json overrides the file's field, the others stay",
              rc == 0 && strstr (out, "Überschrieben") && strstr (out, "\"hf\":3")
              && !strstr (out, "Aus JSON"), "rc %d out '%s'", rc, out);
    rc = s_run (out, sizeof out, err, sizeof err,
                "publish offer --title 'Per stdin' --json - < /dev/null --from 05162");
    KH_CHECK ("JSON that is not an object exits 1", rc == 1, "rc %d err '%s'", rc, err);

    snprintf (args, sizeof args, "%s/kreishub.cfg", s_dir);
    file = fopen (args, "w");
    fprintf (file, "client\n    endpoint = %s\n    from = 05162016\n", s_hub.client);
    fclose (file);
    snprintf (args, sizeof args, "-c '%s/kreishub.cfg' publish idea --title Konfiguriert",
              s_dir);
    rc = s_run_env ("KREISHUB_ENDPOINT=", out, sizeof out, err, sizeof err, args);
    KH_CHECK ("endpoint and sender come from the config file's section client",
              rc == 0 && streq (out, "seq 4\n"), "rc %d out '%s' err '%s'", rc, out, err);
    rc = s_run (out, sizeof out, err, sizeof err, "-c /nonexistent/kreishub.cfg ping");
    KH_CHECK ("a config file that cannot be read exits 1", rc == 1, "rc %d", rc);
    rc = s_run (out, sizeof out, err, sizeof err,
                "ping -e tcp://127.0.0.1:1 --timeout 200");
    KH_CHECK ("a flag overrides the environment's endpoint", rc == 3, "rc %d out '%s'", rc, out);
}

static void
s_test_log (void)
{
    char out [16384], err [1024];
    int rc = s_run (out, sizeof out, err, sizeof err, "log");
    KH_CHECK ("log prints a header and one aligned row per record",
              rc == 0 && s_lines (out) == 5 && strstr (out, "     SEQ  PUBLISHED")
              && strstr (out, "       2  ")
              && strstr (out, "  offer         05162 Rhein-Kreis Neuss     Fortbildung\n"),
              "rc %d out '%s' err '%s'", rc, out, err);
    rc = s_run (out, sizeof out, err, sizeof err, "log --type offer --format csv");
    KH_CHECK ("log --type offer --format csv prints the header and the one offer",
              rc == 0 && s_lines (out) == 2 && strncmp (out, "seq,", 4) == 0, "rc %d out '%s'",
              rc, out);
    rc = s_run (out, sizeof out, err, sizeof err, "log --since 2 --until 3 --format json");
    KH_CHECK ("log --since and --until bound by seq", rc == 0 && s_lines (out) == 2
              && strstr (out, "\"seq\":2") && strstr (out, "\"seq\":3"), "rc %d out '%s'",
              rc, out);
    rc = s_run (out, sizeof out, err, sizeof err, "log --from 05162012 --limit 2 --format json");
    KH_CHECK ("log --from and --limit filter and stop", rc == 0 && s_lines (out) == 2,
              "rc %d out '%s'", rc, out);
    rc = s_run (out, sizeof out, err, sizeof err, "log --until 2000-01-01");
    KH_CHECK ("log with nothing to show prints the header only",
              rc == 0 && s_lines (out) == 1, "rc %d out '%s'", rc, out);
    rc = s_run (out, sizeof out, err, sizeof err, "log --format xml");
    KH_CHECK ("an unknown format is a usage error naming the formats",
              rc == 1 && strstr (err, "table, json or csv, not 'xml'")
              && strstr (err, "try 'kreishub log --help'"), "rc %d err '%s'", rc, err);
    rc = s_run (out, sizeof out, err, sizeof err, "log --since soon");
    KH_CHECK ("a position that is neither seq nor time is a usage error", rc == 1,
              "rc %d", rc);
    rc = s_run (out, sizeof out, err, sizeof err, "log -e tcp://127.0.0.1:1 --timeout 200");
    KH_CHECK ("log against no hub exits 3", rc == 3 && s_lines (out) == 0, "rc %d out '%s'",
              rc, out);
}

static void
s_test_subscribe_and_ping (void)
{
    char out [16384], err [1024];
    int rc = s_run (out, sizeof out, err, sizeof err, "subscribe --since 2 --count 3 --json");
    KH_CHECK ("subscribe --since --count prints that many records from the store and exits 0",
              rc == 0 && s_lines (out) == 3 && strncmp (out, "{\"seq\":2,", 9) == 0,
              "rc %d out '%s' err '%s'", rc, out, err);
    /* The timeout must leave time for the 4 stored records under valgrind too. */
    rc = s_run (out, sizeof out, err, sizeof err, "subscribe --since 1 --count 9 --timeout 2000");
    KH_CHECK ("subscribe exits 3 when --timeout passes before --count records",
              rc == 3 && s_lines (out) == 4, "rc %d out '%s' err '%s'", rc, out, err);
    rc = s_run (out, sizeof out, err, sizeof err, "subscribe --type offer --timeout 200");
    KH_CHECK ("subscribe without --count ends at --timeout with 0", rc == 0, "rc %d", rc);
    rc = s_run (out, sizeof out, err, sizeof err, "subscribe --from 051620241");
    KH_CHECK ("subscribe --from with a bad AGS is a usage error", rc == 1, "rc %d", rc);
    rc = s_run (out, sizeof out, err, sizeof err, "ping");
    KH_CHECK ("ping prints the head and the recorder",
              rc == 0 && streq (out, "head 4 recorder up\n"),
              "rc %d out '%s'", rc, out);
    rc = s_run (out, sizeof out, err, sizeof err, "subscribe --help");
    KH_CHECK ("a command's --help prints its usage on stdout and exits 0",
              rc == 0 && strstr (out, "usage: kreishub subscribe"), "rc %d", rc);
    rc = s_run (out, sizeof out, err, sizeof err, "publish");
    KH_CHECK ("publish without a type is a usage error, pointing to --help",
              rc == 1 && strstr (err, "which type?")
              && strstr (err, "try 'kreishub publish --help'") && !strstr (err, "usage:"),
              "rc %d err '%s'", rc, err);
}

/* What a certificate and plain mode change: the certificate names the sender, a
   secure command without one says what to give it, plain mode refuses endpoints
   that are not loopback ones and says so loudly. */
static void
s_test_identity (void)
{
    char out [8192], err [2048];
    int rc = s_run (out, sizeof out, err, sizeof err, "publish idea --title 'Ohne --from'");
    char who [16];
    kh_fake_hub_who (&s_hub, who, sizeof who);
    KH_CHECK ("publish without --from publishes as its certificate's AGS", rc == 0
              && streq (out, "seq 5\n") && streq (who, "05162012"), "rc %d out '%s' who '%s'",
              rc, out, who);
    rc = s_run (out, sizeof out, err, sizeof err, "log --since 5 --format json");
    KH_CHECK ("and the message says so", rc == 0 && strstr (out, "\"from\":\"05162012\""),
              "rc %d out '%s'", rc, out);
    rc = s_run_env ("KREISHUB_CERT=", out, sizeof out, err, sizeof err,
                    "ping -e tcp://127.0.0.1:1 -t 100");
    KH_CHECK ("a command without a certificate exits 1 and says what to give it", rc == 1
              && strstr (err, "--cert FILE") && strstr (err, "--plain"), "rc %d err '%s'", rc,
              err);
    rc = s_run (out, sizeof out, err, sizeof err, "--cert /nonexistent.cert ping -t 100");
    KH_CHECK ("a certificate that cannot be read is named", rc == 1
              && strstr (err, "/nonexistent.cert"), "rc %d err '%s'", rc, err);
    rc = s_run (out, sizeof out, err, sizeof err, "--plain -e tcp://192.0.2.1:7701 ping -t 100");
    KH_CHECK ("plain mode refuses an endpoint that is not a loopback one", rc == 1
              && strstr (err, "tcp://192.0.2.1:7701 is not a loopback endpoint")
              && !strstr (err, "WARNING"), "rc %d err '%s'", rc, err);
    rc = s_run_env ("KREISHUB_PLAIN=1", out, sizeof out, err, sizeof err,
                    "ping -e tcp://127.0.0.1:1 -t 100");
    KH_CHECK ("plain mode (KREISHUB_PLAIN=1) warns on stderr", rc == 3
              && strstr (err, "WARNING: PLAIN MODE"), "rc %d err '%s'", rc, err);
}

/* kreishub keygen: the pair it writes, what it checks, that it never overwrites. */
static void
s_test_keygen (void)
{
    char out [2048], err [2048], args [512], path [256];
    snprintf (args, sizeof args, "keygen --ags 05162004 --name Dormagen --role municipality "
              "-o '%s/keys'", s_dir);
    int rc = s_run (out, sizeof out, err, sizeof err, args);
    snprintf (path, sizeof path, "%s/keys/05162004.cert", s_dir);
    zcert_t *cert = zcert_load (path);
    kh_ident_t ident;
    KH_CHECK ("keygen writes a pair whose public part names its holder", rc == 0 && cert
              && kh_ident_of (&ident, cert, NULL) == 0 && streq (ident.ags, "05162004")
              && streq (ident.name, "Dormagen") && ident.role == KH_ROLE_MUNICIPALITY
              && strstr (out, path), "rc %d out '%s' err '%s'", rc, out, err);
    zcert_destroy (&cert);
    struct stat st = { 0 };
    snprintf (path, sizeof path, "%s/keys/05162004.cert_secret", s_dir);
    stat (path, &st);
    KH_CHECK ("its secret part is its owner's alone", (st.st_mode & 0777) == 0600, "%o",
              (unsigned) (st.st_mode & 0777));
    rc = s_run (out, sizeof out, err, sizeof err, args);
    KH_CHECK ("keygen never overwrites a certificate", rc == 1 && strstr (err, "exists"),
              "rc %d err '%s'", rc, err);
    static const char *const bad [][2] = {
        { "--ags 05162004 --name X --role mayor", "--role" },
        { "--ags 0516200 --name X --role municipality", "--ags" },
        { "--ags 05162 --name X --role municipality", "8 digits" },
        { "--ags 05162004 --name X --role kreis", "5 digits" },
        { "--ags 05162004 --name 'a\"b' --role municipality", "--name" },
        { "--server --ags 05162", "--server takes no" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++) {
        snprintf (args, sizeof args, "keygen %s -o '%s/bad'", bad [i][0], s_dir);
        rc = s_run (out, sizeof out, err, sizeof err, args);
        KH_CHECK ("keygen refuses what a certificate may not say", rc == 1
                  && strstr (err, bad [i][1]), "%s: rc %d err '%s'", bad [i][0], rc, err);
    }
    snprintf (args, sizeof args, "keygen --server -o '%s/keys'", s_dir);
    rc = s_run (out, sizeof out, err, sizeof err, args);
    snprintf (path, sizeof path, "%s/keys/server.cert", s_dir);
    cert = kh_cert_load (path, true, NULL);
    KH_CHECK ("keygen --server writes the broker's pair, a name and no role", rc == 0 && cert
              && !zcert_meta (cert, "role") && zcert_meta (cert, "name"), "rc %d err '%s'", rc,
              err);
    zcert_destroy (&cert);
}

/* Makes the certificates: the fake hub's pair and the program's (05162012), whose
   public part clients/ admits. Returns 0 or -1. */
static int
s_certificates (void)
{
    kh_ident_t server = { .name = "fake hub" };
    kh_ident_t member = { .ags = "05162012", .name = "J\xc3\xbc" "chen",
                          .role = KH_ROLE_MUNICIPALITY };
    char dir [128], copy [160];
    snprintf (dir, sizeof dir, "%s/clients", s_dir);
    snprintf (copy, sizeof copy, "%s/05162012.cert", dir);
    if (kh_cert_create (s_dir, "server", &server, s_server, sizeof s_server, NULL)
    ||  kh_cert_create (s_dir, "05162012", &member, s_cert, sizeof s_cert, NULL)
    ||  zsys_dir_create ("%s", dir))
        return -1;
    zcert_t *cert = zcert_load (s_cert);
    int rc = cert ? zcert_save_public (cert, copy) : -1;
    zcert_destroy (&cert);
    return rc;
}

/* Waits up to 5 s until link () gives want. Returns the last state seen. */
static kh_link_t
s_await_link (kh_link_t (*link) (void *), void *object, kh_link_t want)
{
    kh_link_t seen = link (object);
    for (int64_t end = zclock_mono () + 5000; seen != want && zclock_mono () < end; ) {
        zclock_sleep (10);
        seen = link (object);
    }
    return seen;
}

static kh_link_t
s_client_link (void *client)
{
    return kh_client_link ((kh_client_t *) client);
}

static kh_link_t
s_subscriber_link (void *sub)
{
    return kh_subscriber_link ((kh_subscriber_t *) sub);
}

/* libkreishub's watched clients and subscribers: what they know of the connection. */
static void
s_test_link (void)
{
    kh_fake_hub_t hub;
    if (kh_fake_hub_start (&hub)) {
        KH_CHECK ("a second fake hub starts", false, "no");
        return;
    }
    kh_client_t *client = kh_client_new_watched (hub.client, NULL);
    kh_client_t *plain = kh_client_new (hub.client);
    kh_client_t *nowhere = kh_client_new_watched ("tcp://127.0.0.1:1", NULL);
    kh_subscriber_t *sub = kh_subscriber_new_watched (hub.client, hub.live, NULL, NULL, NULL, 0);
    kh_client_t *refused = kh_client_new_watched (s_hub.client, NULL);
    KH_CHECK ("a client that is not watched knows nothing", kh_client_link (plain)
              == KH_LINK_UNKNOWN && kh_client_link (NULL) == KH_LINK_UNKNOWN, "wrong");
    KH_CHECK ("a watched client sees its connection come up",
              s_await_link (s_client_link, client, KH_LINK_UP) == KH_LINK_UP, "no");
    KH_CHECK ("a watched subscriber too",
              s_await_link (s_subscriber_link, sub, KH_LINK_UP) == KH_LINK_UP, "no");
    KH_CHECK ("a plain client of a CURVE hub is refused",
              s_await_link (s_client_link, refused, KH_LINK_REFUSED) == KH_LINK_REFUSED, "no");
    int rc = kh_client_ping (nowhere, 200, NULL, NULL);
    KH_CHECK ("a client of a hub that is not there has no connection after a timeout",
              rc == KH_ETIMEOUT && kh_client_link (nowhere) == KH_LINK_NONE, "rc %d link %d",
              rc, kh_client_link (nowhere));
    kh_fake_hub_stop (&hub);
    KH_CHECK ("when the hub goes away the client sees its connection lost",
              s_await_link (s_client_link, client, KH_LINK_LOST) == KH_LINK_LOST, "no");
    KH_CHECK ("and the subscriber too",
              s_await_link (s_subscriber_link, sub, KH_LINK_LOST) == KH_LINK_LOST, "no");
    kh_client_destroy (&client);
    kh_client_destroy (&plain);
    kh_client_destroy (&nowhere);
    kh_client_destroy (&refused);
    kh_subscriber_destroy (&sub);
    KH_CHECK ("a watched subscriber is NULL where kh_subscriber_new is",
              !kh_subscriber_new_watched ("tcp://127.0.0.1:1", "", NULL, NULL, NULL, 0)
              && !kh_client_new_watched ("", NULL), "made");
}

int
main (void)
{
    s_program = getenv ("KH_KREISHUB");
    if (!s_program) {
        printf ("cli_test: set KH_KREISHUB to the kreishub program\n");
        return 1;
    }
    zsys_init ();
    snprintf (s_dir, sizeof s_dir, "/tmp/kh-cli-XXXXXX");
    zactor_t *auth = NULL;
    if (mkdtemp (s_dir) && s_certificates () == 0) {
        char clients [128];
        snprintf (clients, sizeof clients, "%s/clients", s_dir);
        auth = zactor_new (zauth, NULL);
        zstr_sendx (auth, "CURVE", clients, NULL);
        zsock_wait (auth);
    }
    if (!auth || kh_fake_hub_start_secure (&s_hub, s_server)) {
        printf ("FAIL the fake hub starts\n");
        return 1;
    }
    s_test_publish ();
    s_test_sources ();
    s_test_log ();
    s_test_subscribe_and_ping ();
    s_test_identity ();
    s_test_keygen ();
    s_test_link ();
    kh_fake_hub_stop (&s_hub);
    zactor_destroy (&auth);
    char cmd [128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    if (system (cmd) != 0)
        printf ("cli_test: could not remove %s\n", s_dir);
    return kh_check_done ("cli_test");
}
