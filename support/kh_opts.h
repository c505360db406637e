/*  kh_opts.h - a program's command line from one table: each option's long name,
    short letter, value and help line. The same table parses argv (getopt_long) and
    prints --help, so the usage lists every option there is and no other; --help
    (-h) and, for a program, --version come with every table.

    Values are kept as the text given; the program converts them afterwards (numbers
    through kh_value.h), so that a bad value is refused with a message of its own.
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

/* One option: a value (arg set; argv's text goes to *value) or a switch (arg NULL;
   *on is set true). A table ends with an entry whose name is NULL. */
typedef struct {
    const char  *name;                  /* long name, without "--" */
    char         letter;                /* short form, or 0 ('h' is --help's) */
    const char  *arg;                   /* the value's name in the usage, e.g. "EP" */
    const char **value;                 /* where a value goes */
    bool        *on;                    /* where a switch goes */
    const char  *help;                  /* usage text; '\n' starts another line */
} kh_opt_t;

/* A program's (or a command's) command line. */
typedef struct {
    const char     *program;            /* e.g. "kreishub-broker", "kreishub log" */
    const char     *synopsis;           /* after it in the usage line; NULL: "[options]" */
    const char     *about;              /* lines before the options, or NULL */
    const kh_opt_t *table;              /* the options */
    const kh_opt_t *shared;             /* more, listed after them, or NULL */
    const char     *notes;              /* lines after the options, or NULL */
    bool            version;            /* offer --version: "PROGRAM VERSION" */
    bool            in_order;           /* options end at the first other argument */
} kh_opts_t;

/* What kh_opts_parse returns. */
#define KH_OPTS_GO       0              /* parsed: go on */
#define KH_OPTS_HELP     1              /* --help: the usage went to stdout */
#define KH_OPTS_VERSION  2              /* --version: the version went to stdout */
#define KH_OPTS_BAD     -1              /* bad usage: why and the usage went to stderr */

/* Parses argv by self's tables. If first is NULL, any argument that is not an option
   is bad usage; else *first is set to the index of the first one (argc if none;
   getopt moves them behind the options unless in_order). Returns one of the
   KH_OPTS_ codes above, having printed what it says. */
int kh_opts_parse (const kh_opts_t *self, int argc, char *argv [], int *first);

/* Prints the usage: "usage: PROGRAM SYNOPSIS", about, one line per option (help and
   version included), notes. */
void kh_opts_usage (const kh_opts_t *self, FILE *out);

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
