/*  kh_opts.c - parses argv and prints --help from one option table (see kh_opts.h). */
#include <assert.h>
#include <getopt.h>
#include <string.h>
#include "kh_opts.h"
#include "kh_version.h"

#define S_OPTS_MAX      48              /* options of one program, help and version too */
#define S_CODE_BASE     256             /* getopt's code for an option without a letter */
#define S_WIDTH_MIN     24              /* help texts start at this column or later */

static const kh_opt_t s_help = { "help", 'h', NULL, NULL, NULL, "this text" };
static const kh_opt_t s_version = { "version", 0, NULL, NULL, NULL,
                                    "print the version and exit" };

/* Lists self's options in usage order into list; returns how many. */
static int
s_list (const kh_opts_t *self, const kh_opt_t *list [S_OPTS_MAX])
{
    int count = 0;
    const kh_opt_t *tables [2] = { self->table, self->shared };
    for (int t = 0; t < 2; t++)
        for (const kh_opt_t *opt = tables [t]; opt && opt->name; opt++) {
            assert (count < S_OPTS_MAX - 2);
            assert (opt->letter != 'h');
            assert (opt->arg ? opt->value != NULL : opt->on != NULL);
            list [count++] = opt;
        }
    list [count++] = &s_help;
    if (self->version)
        list [count++] = &s_version;
    return count;
}

/* Writes the option's left column ("  -c, --config FILE") into out; returns its length. */
static int
s_left (const kh_opt_t *opt, char *out, size_t cap)
{
    char letter [8] = "    ";
    if (opt->letter)
        snprintf (letter, sizeof letter, "-%c, ", opt->letter);
    return snprintf (out, cap, "  %s--%s%s%s", letter, opt->name, opt->arg ? " " : "",
                     opt->arg ? opt->arg : "");
}

void
kh_opts_usage (const kh_opts_t *self, FILE *out)
{
    const kh_opt_t *list [S_OPTS_MAX];
    int count = s_list (self, list), width = S_WIDTH_MIN;
    char left [128];
    for (int i = 0; i < count; i++) {
        int len = s_left (list [i], left, sizeof left) + 2;
        width = len > width ? len : width;
    }
    fprintf (out, "usage: %s %s\n%s", self->program,
             self->synopsis ? self->synopsis : "[options]", self->about ? self->about : "");
    for (int i = 0; i < count; i++) {
        s_left (list [i], left, sizeof left);
        fprintf (out, "%-*s", width, left);
        for (const char *line = list [i]->help ? list [i]->help : ""; ; ) {
            size_t len = strcspn (line, "\n");
            fprintf (out, "%.*s\n", (int) len, line);
            if (!line [len] || !line [len + 1])
                break;
            line += len + 1;
            fprintf (out, "%*s", width, "");
        }
    }
    fputs (self->notes ? self->notes : "", out);
}

const kh_opt_t *
kh_opts_find (const kh_opts_t *self, const char *name, size_t len, char letter)
{
    const kh_opt_t *list [S_OPTS_MAX];
    int count = s_list (self, list);
    for (int i = 0; i < count; i++) {
        const kh_opt_t *opt = list [i];
        if (name ? strlen (opt->name) == len && memcmp (opt->name, name, len) == 0
                 : letter && opt->letter == letter)
            return opt;
    }
    return NULL;
}

/* Builds getopt_long's tables for list: longs (count + 1 entries) and shorts. */
static void
s_getopt_tables (const kh_opts_t *self, const kh_opt_t *const list [], int count,
                 struct option longs [], char *shorts, size_t cap)
{
    size_t n = 0;
    if (self->in_order)
        shorts [n++] = '+';
    for (int i = 0; i < count; i++) {
        const kh_opt_t *opt = list [i];
        int has_arg = opt->arg ? required_argument : no_argument;
        longs [i] = (struct option) { opt->name, has_arg, NULL,
                                      opt->letter ? opt->letter : S_CODE_BASE + i };
        if (opt->letter && n + 3 < cap) {
            shorts [n++] = opt->letter;
            if (opt->arg)
                shorts [n++] = ':';
        }
    }
    longs [count] = (struct option) { NULL, 0, NULL, 0 };
    shorts [n] = 0;
}

/* Returns the option getopt_long answered with code, or NULL. */
static const kh_opt_t *
s_by_code (const kh_opt_t *const list [], int count, int code)
{
    if (code >= S_CODE_BASE && code < S_CODE_BASE + count)
        return list [code - S_CODE_BASE];
    for (int i = 0; code > 0 && code < S_CODE_BASE && i < count; i++)
        if (list [i]->letter == code)
            return list [i];
    return NULL;
}

/* Says why argv is bad usage, then the usage, on stderr. Returns KH_OPTS_BAD. */
static int
s_bad (const kh_opts_t *self, const char *why, const char *arg)
{
    if (why)
        fprintf (stderr, "%s: %s '%s'\n", self->program, why, arg);
    kh_opts_usage (self, stderr);
    return KH_OPTS_BAD;
}

int
kh_opts_parse (const kh_opts_t *self, int argc, char *argv [], int *first)
{
    const kh_opt_t *list [S_OPTS_MAX];
    struct option longs [S_OPTS_MAX + 1];
    char shorts [2 * S_OPTS_MAX + 2];
    int count = s_list (self, list), code;
    s_getopt_tables (self, list, count, longs, shorts, sizeof shorts);
    optind = 0;                         /* glibc: start afresh, also for a command */
    while ((code = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        const kh_opt_t *opt = s_by_code (list, count, code);
        if (opt == &s_help) {
            kh_opts_usage (self, stdout);
            return KH_OPTS_HELP;
        }
        if (opt == &s_version) {
            printf ("%s %s\n", self->program, KH_VERSION);
            return KH_OPTS_VERSION;
        }
        if (!opt)                       /* getopt has said what is wrong */
            return s_bad (self, NULL, NULL);
        if (opt->arg)
            *opt->value = optarg;
        else
            *opt->on = true;
    }
    if (first)
        *first = optind;
    else
    if (optind < argc)
        return s_bad (self, "unexpected argument", argv [optind]);
    return KH_OPTS_GO;
}

int
kh_opts_exit (int rc, int bad)
{
    return rc == KH_OPTS_BAD ? bad : 0;
}
