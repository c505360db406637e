/*  kh_opts.h - a program's command line from one table: each option's long name,
    short letter, value and help line. The same table parses argv (getopt_long) and
    prints --help, so the usage lists every option there is and no other; --help
    (-h) and, for a program, --version come with every table.

    Values are kept as the text given; the program converts them afterwards (numbers
    through kh_value.h), so that a bad value is refused with a message of its own.

    With once set (the kreishub command line), an option is given once: a value
    option given again is bad usage, never "the last one wins". An option that may
    repeat (a filter: --type idea --type offer) says so by its list (kh_opt_list_t),
    which collects every value in order. Without once the last value counts, for
    the daemons, whose launchers and tests override an option by appending it.

    Bad usage is told in one line, "PROGRAM: what is wrong", then "try 'PROGRAM
    --help'", not the whole usage; a mistyped long option gets "did you mean --X?"
    (kh_suggest.h).
*/
#ifndef KH_OPTS_H_INCLUDED
#define KH_OPTS_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Turns a numeric macro into a string, for help texts: KH_STR (KH_CLI_TIMEOUT). */
#define KH_STR(x)   KH__STR (x)
#define KH__STR(x)  #x

/* One option: a value (arg set; argv's text goes to *value, or to the option's
   list) or a switch (arg NULL; *on is set true). A table ends with an entry whose
   name is NULL. */
typedef struct {
    const char  *name;                  /* long name, without "--" */
    char         letter;                /* short form, or 0 ('h' is --help's) */
    const char  *arg;                   /* the value's name in the usage, e.g. "EP" */
    const char **value;                 /* where a value goes */
    bool        *on;                    /* where a switch goes */
    const char  *help;                  /* usage text; '\n' starts another line */
} kh_opt_t;

#define KH_OPTS_LIST_MAX  16            /* values of one repeatable option, at most */

/* The values of an option that may repeat, in the order given. An array of lists
   ends with one whose name is NULL. */
typedef struct {
    const char *name;                   /* the option's long name */
    const char *items [KH_OPTS_LIST_MAX];
    size_t      count;                  /* how many were given */
} kh_opt_list_t;

/* A program's (or a command's) command line. */
typedef struct {
    const char     *program;            /* e.g. "kreishub-broker", "kreishub log" */
    const char     *synopsis;           /* after it in the usage line; NULL: "[options]" */
    const char     *about;              /* lines before the options, or NULL */
    const kh_opt_t *table;              /* the options */
    const kh_opt_t *shared;             /* more, listed after them, or NULL; with
                                           once, a value already set when parsing
                                           starts was given before (kreishub -e EP
                                           log -e EP2): given again, it is bad usage */
    kh_opt_list_t  *lists;              /* the options that may repeat, or NULL: an
                                           option named here collects its values
                                           here (its value may be NULL) */
    const char     *notes;              /* lines after the options, or NULL */
    bool            version;            /* offer --version: "PROGRAM VERSION" */
    bool            in_order;           /* options end at the first other argument */
    bool            once;               /* a value option given twice is bad usage */
} kh_opts_t;

/* What kh_opts_parse returns. */
#define KH_OPTS_GO       0              /* parsed: go on */
#define KH_OPTS_HELP     1              /* --help: the usage went to stdout */
#define KH_OPTS_VERSION  2              /* --version: the version went to stdout */
#define KH_OPTS_BAD     -1              /* bad usage: why and "try" went to stderr */

/* Parses argv by self's tables. If first is NULL, any argument that is not an option
   is bad usage; else *first is set to the index of the first one (argc if none;
   getopt moves them behind the options unless in_order). Returns one of the
   KH_OPTS_ codes above, having printed what it says. */
int kh_opts_parse (const kh_opts_t *self, int argc, char *argv [], int *first);

/* Prints the usage: "usage: PROGRAM SYNOPSIS", about, one line per option (help and
   version included), notes. */
void kh_opts_usage (const kh_opts_t *self, FILE *out);

/* Says on stderr what is wrong with the command line in one line, "PROGRAM: "
   and the text fmt makes (NULL: none), then "try 'PROGRAM --help'". Returns
   KH_OPTS_BAD. */
int kh_opts_bad (const kh_opts_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Returns the list of self that collects the option name, or NULL. */
const kh_opt_list_t *kh_opts_list (const kh_opts_t *self, const char *name);

/* Finds a long option (name of len bytes) or a short one (letter; name NULL) among
   self's tables, --help and --version included. Returns it, or NULL. */
const kh_opt_t *kh_opts_find (const kh_opts_t *self, const char *name, size_t len,
                              char letter);

/* The exit status for what kh_opts_parse returned (not KH_OPTS_GO): 0 after help
   or version, bad for bad usage. */
int kh_opts_exit (int rc, int bad);

#ifdef __cplusplus
}
#endif
#endif
