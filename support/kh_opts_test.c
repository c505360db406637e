/*  kh_opts_test.c - one option table parses argv and prints the usage; --help and
    --version come with it. */
#include <czmq.h>
#include <unistd.h>
#include "kh_check.h"
#include "kh_opts.h"
#include "kh_version.h"

/* What the test program's options say. */
typedef struct {
    const char *config;
    const char *client;
    const char *window;
    bool        verbose;
} s_args_t;

/* Parses args (NULL-terminated, after the program name) by a table like a program's,
   with stdout and stderr into out and err. Returns kh_opts_parse's result. */
static int
s_parse (s_args_t *args, const char *const *words, bool in_order, int *first, char *out,
         char *err, size_t cap)
{
    const kh_opt_t table [] = {
        { "config", 'c', "FILE", &args->config, NULL, "read a ZPL file" },
        { "client", 0, "EP", &args->client, NULL, "the client endpoint\n(default here)" },
        { "verbose", 'v', NULL, NULL, &args->verbose, "say more" },
        { NULL }
    };
    const kh_opt_t shared [] = {
        { "window", 'w', "N", &args->window, NULL, "a window" },
        { NULL }
    };
    kh_opts_t opts = { .program = "kh-test", .about = "Tests options.\n", .table = table,
                       .shared = shared, .notes = "Exit status 0.\n", .version = true,
                       .in_order = in_order };
    char *argv [16] = { "kh-test" };
    int argc = 1;
    for (; words [argc - 1] && argc < 15; argc++)
        argv [argc] = (char *) words [argc - 1];
    argv [argc] = NULL;
    FILE *files [2] = { tmpfile (), tmpfile () };
    int saved [2] = { dup (1), dup (2) };
    fflush (stdout);
    fflush (stderr);
    dup2 (fileno (files [0]), 1);
    dup2 (fileno (files [1]), 2);
    int rc = kh_opts_parse (&opts, argc, argv, first);
    fflush (stdout);
    fflush (stderr);
    dup2 (saved [0], 1);
    dup2 (saved [1], 2);
    char *texts [2] = { out, err };
    for (int i = 0; i < 2; i++) {
        close (saved [i]);
        rewind (files [i]);
        size_t n = fread (texts [i], 1, cap - 1, files [i]);
        texts [i][n] = 0;
        fclose (files [i]);
    }
    return rc;
}

static void
s_test_values (void)
{
    s_args_t args = { 0 };
    char out [4096], err [4096];
    const char *words [] = { "-c", "a.cfg", "--client=tcp://x:1", "-v", "--window", "9", NULL };
    int rc = s_parse (&args, words, false, NULL, out, err, sizeof out);
    KH_CHECK ("values and switches go where the table says, long and short",
              rc == KH_OPTS_GO && streq (args.config, "a.cfg")
              && streq (args.client, "tcp://x:1") && args.verbose
              && streq (args.window, "9") && !*out && !*err, "rc %d out '%s' err '%s'", rc,
              out, err);
    s_args_t none = { 0 };
    const char *bare [] = { NULL };
    rc = s_parse (&none, bare, false, NULL, out, err, sizeof out);
    KH_CHECK ("what is not given stays as it was", rc == KH_OPTS_GO && !none.config
              && !none.client && !none.verbose, "rc %d", rc);
}

static void
s_test_bad (void)
{
    s_args_t args = { 0 };
    char out [4096], err [4096];
    const char *bogus [] = { "--bogus", NULL };
    int rc = s_parse (&args, bogus, false, NULL, out, err, sizeof out);
    KH_CHECK ("an unknown option is bad usage, with the usage on stderr",
              rc == KH_OPTS_BAD && strstr (err, "usage: kh-test [options]") && !*out,
              "rc %d err '%s'", rc, err);
    const char *missing [] = { "--client", NULL };
    rc = s_parse (&args, missing, false, NULL, out, err, sizeof out);
    KH_CHECK ("an option without its value is bad usage", rc == KH_OPTS_BAD, "rc %d", rc);
    const char *extra [] = { "-v", "leftover", NULL };
    rc = s_parse (&args, extra, false, NULL, out, err, sizeof out);
    KH_CHECK ("an argument that is not an option is bad usage, named",
              rc == KH_OPTS_BAD && strstr (err, "kh-test: unexpected argument 'leftover'"),
              "rc %d err '%s'", rc, err);
    KH_CHECK ("kh_opts_exit gives 0 after help or version and the bad status else",
              kh_opts_exit (KH_OPTS_BAD, 2) == 2 && kh_opts_exit (KH_OPTS_HELP, 2) == 0
              && kh_opts_exit (KH_OPTS_VERSION, 2) == 0, "wrong");
}

static void
s_test_in_order (void)
{
    s_args_t args = { 0 };
    char out [4096], err [4096];
    const char *words [] = { "-v", "log", "-c", "x", NULL };
    int first = -1;
    int rc = s_parse (&args, words, true, &first, out, err, sizeof out);
    KH_CHECK ("in order, options end at the first other argument, whose index is given",
              rc == KH_OPTS_GO && first == 2 && args.verbose && !args.config,
              "rc %d first %d", rc, first);
    const char *mixed [] = { "TYPE", "-v", NULL };
    first = -1;
    rc = s_parse (&args, mixed, false, &first, out, err, sizeof out);
    KH_CHECK ("otherwise other arguments are moved behind the options",
              rc == KH_OPTS_GO && first == 2, "rc %d first %d", rc, first);
}

static void
s_test_help_and_version (void)
{
    s_args_t args = { 0 };
    char out [4096], err [4096], expect [256];
    const char *help [] = { "--help", NULL };
    int rc = s_parse (&args, help, false, NULL, out, err, sizeof out);
    const char *usage =
        "usage: kh-test [options]\n"
        "Tests options.\n"
        "  -c, --config FILE     read a ZPL file\n"
        "      --client EP       the client endpoint\n"
        "                        (default here)\n"
        "  -v, --verbose         say more\n"
        "  -w, --window N        a window\n"
        "  -h, --help            this text\n"
        "      --version         print the version and exit\n"
        "Exit status 0.\n";
    KH_CHECK ("--help prints every option of both tables, help and version, on stdout",
              rc == KH_OPTS_HELP && streq (out, usage) && !*err, "rc %d out '%s'", rc, out);
    const char *h [] = { "-h", NULL };
    rc = s_parse (&args, h, false, NULL, out, err, sizeof out);
    KH_CHECK ("-h is --help", rc == KH_OPTS_HELP && streq (out, usage), "rc %d", rc);
    const char *version [] = { "--version", NULL };
    rc = s_parse (&args, version, false, NULL, out, err, sizeof out);
    snprintf (expect, sizeof expect, "kh-test %s\n", KH_VERSION);
    KH_CHECK ("--version prints the program and the project's version",
              rc == KH_OPTS_VERSION && streq (out, expect) && !*err, "rc %d out '%s'", rc, out);
}

static void
s_test_find (void)
{
    const char *value = NULL;
    const kh_opt_t table [] = { { "json", 0, "FILE", &value, NULL, "a file" }, { NULL } };
    kh_opts_t opts = { .program = "kh-test", .table = table };
    KH_CHECK ("options are found by long name and letter, help included",
              kh_opts_find (&opts, "json=x", 4, 0) == &table [0]
              && kh_opts_find (&opts, NULL, 0, 'h') != NULL
              && kh_opts_find (&opts, "help", 4, 0) != NULL
              && kh_opts_find (&opts, "js", 2, 0) == NULL
              && kh_opts_find (&opts, "version", 7, 0) == NULL, "not as expected");
}

int
main (void)
{
    s_test_values ();
    s_test_bad ();
    s_test_in_order ();
    s_test_help_and_version ();
    s_test_find ();
    return kh_check_done ("opts_test");
}
