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
    kh_opt_list_t lists [2];            /* --tag may repeat */
    bool        last_wins;              /* parse without once */
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
        { "tag", 0, "TAG", NULL, NULL, "a tag; repeat for more" },
        { NULL }
    };
    args->lists [0].name = "tag";
    const kh_opt_t shared [] = {
        { "window", 'w', "N", &args->window, NULL, "a window" },
        { NULL }
    };
    kh_opts_t opts = { .program = "kh-test", .about = "Tests options.\n", .table = table,
                       .shared = shared, .notes = "Exit status 0.\n", .version = true,
                       .in_order = in_order, .lists = args->lists, .once = !args->last_wins };
    char *argv [48] = { "kh-test" };
    int argc = 1;
    for (; words [argc - 1] && argc < 47; argc++)
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

/* Parses words with a fresh s_args_t; expects bad usage with exactly the line why
   and the "try" line on stderr, nothing on stdout. */
static void
s_expect_bad (const char *name, const char *const *words, const char *why)
{
    s_args_t args = { 0 };
    char out [4096], err [4096], expect [512];
    int rc = s_parse (&args, words, false, NULL, out, err, sizeof out);
    snprintf (expect, sizeof expect, "kh-test: %s\ntry 'kh-test --help'\n", why);
    KH_CHECK (name, rc == KH_OPTS_BAD && streq (err, expect) && !*out,
              "rc %d err '%s' out '%s'", rc, err, out);
}

static void
s_test_bad (void)
{
    const char *bogus [] = { "--bogus", NULL };
    s_expect_bad ("an unknown option is one line and 'try --help', not the usage", bogus,
                  "unknown option '--bogus'");
    const char *typo [] = { "--cleint=x", NULL };
    s_expect_bad ("a mistyped option gets did you mean", typo,
                  "unknown option '--cleint'; did you mean --client?");
    const char *typo_short [] = { "--verbsoe", NULL };
    s_expect_bad ("a mistyped switch too", typo_short,
                  "unknown option '--verbsoe'; did you mean --verbose?");
    const char *ambiguous [] = { "--c", "x", NULL };
    s_expect_bad ("an abbreviation of two options is ambiguous, naming both", ambiguous,
                  "option '--c' is ambiguous: --config, --client");
    const char *missing [] = { "--client", NULL };
    s_expect_bad ("a long option without its value names the value", missing,
                  "option --client needs a value (EP)");
    const char *missing_short [] = { "-v", "-c", NULL };
    s_expect_bad ("a short option without its value too", missing_short,
                  "option -c needs a value (FILE)");
    const char *no_value [] = { "--verbose=yes", NULL };
    s_expect_bad ("a switch given a value is refused", no_value,
                  "option --verbose takes no value");
    const char *short_unknown [] = { "-vq", NULL };
    s_expect_bad ("an unknown short option is named", short_unknown,
                  "unknown option '-q'");
    const char *extra [] = { "-v", "leftover", NULL };
    s_expect_bad ("an argument that is not an option is bad usage, named", extra,
                  "unexpected argument 'leftover'");
    KH_CHECK ("kh_opts_exit gives 0 after help or version and the bad status else",
              kh_opts_exit (KH_OPTS_BAD, 2) == 2 && kh_opts_exit (KH_OPTS_HELP, 2) == 0
              && kh_opts_exit (KH_OPTS_VERSION, 2) == 0, "wrong");
}

static void
s_test_repeat (void)
{
    const char *twice [] = { "-c", "a.cfg", "--config=b.cfg", NULL };
    s_expect_bad ("a value option given twice is refused, never last-wins", twice,
                  "--config given twice ('a.cfg', then 'b.cfg'); give it once");
    s_args_t args = { 0 };
    char out [4096], err [4096];
    args.window = "7";                  /* as if given before a command */
    const char *after [] = { "-w", "9", NULL };
    int rc = s_parse (&args, after, false, NULL, out, err, sizeof out);
    KH_CHECK ("a shared option given before the command and after it is refused",
              rc == KH_OPTS_BAD && strstr (err, "--window given twice ('7', then '9' after "
                                                "the command)"), "rc %d err '%s'", rc, err);
    s_args_t daemon = { .last_wins = true };
    rc = s_parse (&daemon, twice, false, NULL, out, err, sizeof out);
    KH_CHECK ("without once (the daemons) the last value counts", rc == KH_OPTS_GO
              && streq (daemon.config, "b.cfg") && !*err, "rc %d err '%s'", rc, err);
    s_args_t fresh = { 0 };
    const char *tags [] = { "--tag", "a", "-v", "--tag=b", "--tag", "c", NULL };
    rc = s_parse (&fresh, tags, false, NULL, out, err, sizeof out);
    const kh_opt_list_t *list = &fresh.lists [0];
    KH_CHECK ("an option that may repeat collects every value in order",
              rc == KH_OPTS_GO && list->count == 3 && streq (list->items [0], "a")
              && streq (list->items [1], "b") && streq (list->items [2], "c") && fresh.verbose,
              "rc %d count %zu err '%s'", rc, list->count, err);
    kh_opts_t opts = { .program = "kh-test", .lists = fresh.lists };
    KH_CHECK ("kh_opts_list finds a list by its option's name",
              kh_opts_list (&opts, "tag") == list && !kh_opts_list (&opts, "config"), "wrong");
    const char *many [2 * (KH_OPTS_LIST_MAX + 1) + 1];
    for (int i = 0; i <= KH_OPTS_LIST_MAX; i++) {
        many [2 * i] = "--tag";
        many [2 * i + 1] = "x";
    }
    many [2 * (KH_OPTS_LIST_MAX + 1)] = NULL;
    char why [64];
    snprintf (why, sizeof why, "--tag given more than %d times", KH_OPTS_LIST_MAX);
    s_expect_bad ("more values than a list holds are refused", many, why);
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
        "      --tag TAG         a tag; repeat for more\n"
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
    s_test_repeat ();
    s_test_in_order ();
    s_test_help_and_version ();
    s_test_find ();
    return kh_check_done ("opts_test");
}
