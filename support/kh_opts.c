/*  kh_opts.c - parses argv and prints --help from one option table (see kh_opts.h). */
#include <assert.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include "kh_opts.h"
#include "kh_suggest.h"
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
            assert (opt->arg ? opt->value || kh_opts_list (self, opt->name) : opt->on != NULL);
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

/* The index of opt in list (count of them). */
static int
s_index (const kh_opt_t *const list [], int count, const kh_opt_t *opt)
{
    for (int i = 0; i < count; i++)
        if (list [i] == opt)
            return i;
    assert (false);
    return 0;
}

/* True if opt is an entry of self's shared table. */
static bool
s_in_shared (const kh_opts_t *self, const kh_opt_t *opt)
{
    for (const kh_opt_t *shared = self->shared; shared && shared->name; shared++)
        if (shared == opt)
            return true;
    return false;
}

/* Builds getopt_long's tables for list: longs (count + 1 entries) and shorts. */
static void
s_getopt_tables (const kh_opts_t *self, const kh_opt_t *const list [], int count,
                 struct option longs [], char *shorts, size_t cap)
{
    size_t n = 0;
    if (self->in_order)
        shorts [n++] = '+';
    shorts [n++] = ':';                 /* a missing value is ':', not '?' */
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

int
kh_opts_bad (const kh_opts_t *self, const char *fmt, ...)
{
    if (fmt) {
        va_list args;
        va_start (args, fmt);
        fprintf (stderr, "%s: ", self->program);
        vfprintf (stderr, fmt, args);
        fputc ('\n', stderr);
        va_end (args);
    }
    fprintf (stderr, "try '%s --help'\n", self->program);
    return KH_OPTS_BAD;
}

const kh_opt_list_t *
kh_opts_list (const kh_opts_t *self, const char *name)
{
    for (kh_opt_list_t *list = self->lists; list && list->name; list++)
        if (strcmp (list->name, name) == 0)
            return list;
    return NULL;
}

/* The list that collects opt's values, or NULL. */
static kh_opt_list_t *
s_list_of (const kh_opts_t *self, const kh_opt_t *opt)
{
    return opt->arg ? (kh_opt_list_t *) kh_opts_list (self, opt->name) : NULL;
}

/* Says that the long option text (argv's, "--name" or "--name=value") is unknown,
   or ambiguous as an abbreviation, suggesting the option it may mean. Returns
   KH_OPTS_BAD. */
static int
s_unknown_long (const kh_opts_t *self, const kh_opt_t *const list [], int count,
                const char *text)
{
    const char *name = text + 2;
    size_t len = strcspn (name, "=");
    const char *names [S_OPTS_MAX], *matches [3] = { NULL };
    int found = 0;
    for (int i = 0; i < count; i++) {
        names [i] = list [i]->name;
        if (len && strncmp (list [i]->name, name, len) == 0 && found < 3)
            matches [found++] = list [i]->name;
    }
    if (found > 1)
        return kh_opts_bad (self, "option '--%.*s' is ambiguous: --%s, --%s%s", (int) len,
                            name, matches [0], matches [1], found > 2 ? ", ..." : "");
    char typed [64];
    snprintf (typed, sizeof typed, "%.*s", (int) len, name);
    int best = kh_suggest_best (typed, names, (size_t) count);
    if (best >= 0)
        return kh_opts_bad (self, "unknown option '--%s'; did you mean --%s?", typed,
                            names [best]);
    return kh_opts_bad (self, "unknown option '--%s'", typed);
}

/* Says what getopt_long found wrong (code '?' or ':'; optind and optopt as it
   left them). Returns KH_OPTS_BAD. */
static int
s_bad_option (const kh_opts_t *self, const kh_opt_t *const list [], int count, int code,
              char *argv [])
{
    const kh_opt_t *opt = s_by_code (list, count, optopt);
    const char *text = optind > 0 ? argv [optind - 1] : "";
    bool is_long = strncmp (text, "--", 2) == 0;
    if (code == ':' && opt)
        return is_long ? kh_opts_bad (self, "option --%s needs a value (%s)", opt->name,
                                      opt->arg)
                       : kh_opts_bad (self, "option -%c needs a value (%s)", opt->letter,
                                      opt->arg);
    if (opt && is_long)
        return kh_opts_bad (self, "option --%s takes no value", opt->name);
    if (optopt == 0 && is_long)
        return s_unknown_long (self, list, count, text);
    return kh_opts_bad (self, "unknown option '-%c'", optopt > 0 && optopt < 128
                                                      ? optopt : '?');
}

/* Stores the value of opt (given for the given-th time in this parse; preset: it
   was set before the parse began, in the shared table). Returns 0, or KH_OPTS_BAD
   after saying why (repeated though it may not be, too many values). */
static int
s_store (const kh_opts_t *self, const kh_opt_t *opt, int given, bool preset)
{
    kh_opt_list_t *values = s_list_of (self, opt);
    if (values && values->count == KH_OPTS_LIST_MAX)
        return kh_opts_bad (self, "--%s given more than %d times", opt->name,
                            KH_OPTS_LIST_MAX);
    if (values)
        values->items [values->count++] = optarg;
    else
    if (opt->arg && self->once && (given > 1 || preset))
        return kh_opts_bad (self, "--%s given twice ('%s', then '%s'%s); give it once",
                            opt->name, *opt->value, optarg,
                            preset && given == 1 ? " after the command" : "");
    else
    if (opt->arg)
        *opt->value = optarg;
    else
        *opt->on = true;
    return 0;
}

int
kh_opts_parse (const kh_opts_t *self, int argc, char *argv [], int *first)
{
    const kh_opt_t *list [S_OPTS_MAX];
    struct option longs [S_OPTS_MAX + 1];
    char shorts [2 * S_OPTS_MAX + 3];
    int count = s_list (self, list), code, given [S_OPTS_MAX] = { 0 };
    bool preset [S_OPTS_MAX] = { false };
    for (int i = 0; i < count; i++)
        preset [i] = s_in_shared (self, list [i]) && list [i]->arg && !s_list_of (self, list [i])
                     && *list [i]->value;
    for (kh_opt_list_t *values = self->lists; values && values->name; values++)
        values->count = 0;
    s_getopt_tables (self, list, count, longs, shorts, sizeof shorts);
    optind = 0;                         /* glibc: start afresh, also for a command */
    opterr = 0;                         /* we say what is wrong, in our words */
    while ((code = getopt_long (argc, argv, shorts, longs, NULL)) != -1) {
        if (code == '?' || code == ':')
            return s_bad_option (self, list, count, code, argv);
        const kh_opt_t *opt = s_by_code (list, count, code);
        assert (opt);
        if (opt == &s_help) {
            kh_opts_usage (self, stdout);
            return KH_OPTS_HELP;
        }
        if (opt == &s_version) {
            printf ("%s %s\n", self->program, KH_VERSION);
            return KH_OPTS_VERSION;
        }
        int index = s_index (list, count, opt);
        if (s_store (self, opt, ++given [index], preset [index]))
            return KH_OPTS_BAD;
    }
    if (first)
        *first = optind;
    else
    if (optind < argc)
        return kh_opts_bad (self, "unexpected argument '%s'", argv [optind]);
    return KH_OPTS_GO;
}

int
kh_opts_exit (int rc, int bad)
{
    return rc == KH_OPTS_BAD ? bad : 0;
}
