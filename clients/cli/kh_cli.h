/*  kh_cli.h - the kreishub command line: shared options, argument helpers, commands.

    Each command lives in its own file (kh_cmd_*.c) with its own option table
    (support/kh_opts.h), which gives its --help too; kreishub_cli.c dispatches to
    them from a table. The helpers here (kh_cli_args.c, kh_cli_print.c) hold what
    commands share and what the unit test proves: the shared options, endpoint
    resolution (support/kh_conf.h), seq-or-time arguments, option splitting for
    `publish`, and the output formats.
*/
#ifndef KH_CLI_H_INCLUDED
#define KH_CLI_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <czmq.h>
#include "kh_conf.h"
#include "kh_filter.h"
#include "kh_json.h"
#include "kh_members.h"
#include "kh_opts.h"
#include "kh_value.h"
#include "kreishub/kreishub.h"

/* Exit statuses of every command. */
#define KH_EXIT_OK          0
#define KH_EXIT_USAGE       1           /* bad usage, or a message invalid locally */
#define KH_EXIT_REJECTED    2           /* the hub refused it (reason on stderr) */
#define KH_EXIT_UNREACHABLE 3           /* no answer in time, or the hub cannot store */

#define KH_CLI_TIMEOUT      5000        /* ms, default for answers from the hub */

/* What every command shares: where the hub is, who we are to it, and the loaded
   config file. */
typedef struct {
    const char *config;                 /* -c FILE, else env KREISHUB_CONFIG */
    const char *endpoint;               /* -e EP (NULL: env, config, default) */
    const char *live;                   /* -l EP */
    const char *cert;                   /* --cert FILE (NULL: env, config) */
    const char *server_cert;            /* --server-cert FILE */
    bool        plain;                  /* --plain (else env, config) */
    zconfig_t  *root;                   /* loaded config, or NULL */
    kh_keys_t  *keys;                   /* loaded by kh_cli_trust; NULL: not yet, or plain */
    int         trust;                  /* kh_cli_trust's result: 0 not decided yet, 1
                                           secure, 2 plain, -1 refused */
    kh_members_t *members;              /* the registry of names (kh_cli_members) */
    kh_opt_t    shared [7];             /* the table of the shared options (kh_cli_shared) */
} kh_cli_t;

/* A command: runs with argv[0] its name; returns an exit status. */
typedef int (kh_cli_run_fn) (kh_cli_t *cli, int argc, char *argv []);

typedef struct {
    const char    *name;
    kh_cli_run_fn *run;
    const char    *summary;             /* one line for `kreishub --help` */
} kh_cli_command_t;

int kh_cmd_up (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_publish (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_subscribe (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_log (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_ping (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_keygen (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_demo (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_respond (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_status (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_revise (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_withdraw (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_comment (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_items (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_show (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_stats (kh_cli_t *cli, int argc, char *argv []);
int kh_cmd_webuser (kh_cli_t *cli, int argc, char *argv []);

/* ------------------------------------------------------ shared options */
/* What kh_cli_parsed returns to say "go on" (every exit status is 0 or more). */
#define KH_CLI_GO           -1

/* The options every command takes (-e, -l, --cert, --server-cert, --plain, -c,
   before or after the command), bound to cli's fields, as a table for
   kh_opts_t.shared. Returns cli->shared. */
const kh_opt_t *kh_cli_shared (kh_cli_t *cli);

/* Ends a command's option parsing; rc is what kh_opts_parse returned (KH_OPTS_BAD
   also when a value was refused, after saying why). Loads the config file for
   KH_OPTS_GO. Returns KH_CLI_GO to go on, else the exit status: 0 after --help,
   KH_EXIT_USAGE after bad usage or a config file that cannot be read. */
int kh_cli_parsed (kh_cli_t *cli, int rc);

/* Ends a refusal of a value (said on stderr already) with "try 'PROGRAM --help'"
   on stderr. Returns KH_OPTS_BAD. */
int kh_cli_bad (const kh_opts_t *opts);

/* Loads the config file named by -c or KREISHUB_CONFIG, if any. Returns 0, or -1
   (after saying why on stderr) if a file was named but cannot be read. */
int kh_cli_load_config (kh_cli_t *cli);

/* The registry of names: the config file's section kreis, else the Rhein-Kreis
   Neuss (kh_members.h), loaded once. Returns it, or NULL after saying on stderr
   why the config file or its section kreis cannot be read. */
const kh_members_t *kh_cli_members (kh_cli_t *cli);

/* Frees what kh_cli_load_config, kh_cli_trust and kh_cli_members loaded. */
void kh_cli_release (kh_cli_t *cli);

/* The config file's path: -c, else KREISHUB_CONFIG, else NULL. */
const char *kh_cli_config_path (const kh_cli_t *cli);

/* The client and live endpoints, and the sender (NULL if none is configured). */
const char *kh_cli_endpoint (const kh_cli_t *cli);
const char *kh_cli_live (const kh_cli_t *cli);
const char *kh_cli_from (const kh_cli_t *cli, const char *flag);

/* The certificate files (--cert, else KREISHUB_CERT, else the config's client/cert;
   --server-cert, KREISHUB_SERVER_CERT, client/server_cert), NULL if none is given;
   and whether plain mode is asked for (--plain, KREISHUB_PLAIN, client/plain). */
const char *kh_cli_cert (const kh_cli_t *cli);
const char *kh_cli_server_cert (const kh_cli_t *cli);
bool kh_cli_plain (const kh_cli_t *cli);

/* Decides, once per command, how it connects to the hub: in plain mode (if asked
   for) it checks that the endpoints it uses (the live one too if live) are loopback
   ones and warns on stderr; else it loads cli->keys from the certificate files.
   Returns 0, or -1 after saying on stderr what to give it (the same later). */
int kh_cli_trust (kh_cli_t *cli, bool live);

/* Creates a client of the hub at kh_cli_endpoint, secure or plain as kh_cli_trust
   decides, its connection watched (kh_client_link). Returns it, or NULL after
   saying on stderr why not (the endpoint is not valid, or kh_cli_trust refused). */
kh_client_t *kh_cli_client (kh_cli_t *cli);

/* The same for a subscriber of both endpoints that follows what filter's lists and
   ref select (kh_subscriber_new_filtered: no bounds, no search), its live
   connection watched (kh_subscriber_link). */
kh_subscriber_t *kh_cli_subscriber (kh_cli_t *cli, const kh_query_t *filter,
                                    uint64_t since);

/* ------------------------------------------------------------ arguments */
/* Reads the value of option name (text; NULL: not given, *value stays) as a number
   from 0 to max (kh_value_number says why not). Returns 0 or -1. */
int kh_cli_uint (const char *name, const char *text, uint64_t max, uint64_t *value);

/* The same for an int from 0 to INT_MAX, e.g. a timeout in ms. */
int kh_cli_int (const char *name, const char *text, int *value);

/* Reads the values of the repeatable options --type and --from (from may be NULL:
   none) into the lists of query (kh_filter.h), a sender as an AGS, a region prefix
   or a name from kh_cli_members. Returns 0, or -1 after saying on stderr "PROGRAM:
   --from: why" (or --type). */
int kh_cli_filter (kh_cli_t *cli, const char *program, const kh_opt_list_t *types,
                   const kh_opt_list_t *from, kh_query_t *query);

/* The exit status for a kh_err code from the library. */
int kh_cli_exit_status (int code);

/* Prints why a request to the hub failed, on stderr, and returns the exit status:
   "kreishub: rejected: NAME: reason" (2) for a refusal; for a timeout or a hub out
   of reach (3) what link (kh_client_link) says: "no connection to the hub at
   ENDPOINT ...", "connected to the hub at ENDPOINT, but no answer in time", "the
   connection ... broke off", "the hub at ENDPOINT refused the connection ...", or
   for KH_LINK_UNKNOWN "no answer from the hub at ENDPOINT in time"; "kreishub: the
   store is full; nothing was stored ..." (3) for FULL (the store's disk is full);
   "kreishub: hub unavailable: NAME: reason" (3) for another transient refusal
   (UNAVAILABLE, STORE, BUSY) or a local failure. err may be NULL. */
int kh_cli_report (const char *endpoint, int code, const kh_error_reply_t *err,
                   kh_link_t link);

/* One body value for `publish`: a field from `--name value`, or a JSON source. */
typedef struct {
    bool        json;                   /* value names a JSON file, or - for stdin */
    char        name [64];              /* the field; '-' in the flag becomes '_' */
    const char *value;
} kh_cli_field_t;

/* Splits argv for a command whose unknown `--name value` options are body fields:
   the options opts knows (except "json") and positional arguments go to kept
   (argv[0] first, at most argc + 1 entries, NULL-terminated) for kh_opts_parse;
   --json and unknown long options go to fields, in order (at most field_max).
   Returns the number of fields, or -1 with a message in err (a field without a
   value, too many fields, a name too long). */
int kh_cli_split (int argc, char *argv [], const kh_opts_t *opts, char *kept [],
                  int *kept_argc, kh_cli_field_t *fields, int field_max, char *err,
                  size_t err_size);

/* ------------------------------------------------------------ publishing */
/* Who sends (kh_cli_send.c): flag (--from), else KREISHUB_FROM, the config's
   client/from, else the certificate's AGS; a name of the Kreis' registry is read as
   its AGS. Returns 0 with ags set, or -1 after saying on stderr why ("PROGRAM:
   ...": nobody, no such name, a region). */
int kh_cli_sender (kh_cli_t *cli, const char *program, const char *flag,
                   char ags [KH_AGS_MAX + 1]);

/* Reads --id (NULL: a new UUIDv7) into id and --ts (a time, or ms since the epoch;
   NULL: the time in the id) into ts, so that the same command with the same --id
   builds the same bytes (a retry the hub takes as one). An id that is not a UUIDv7
   needs ts_text. Returns 0, or -1 after saying why. */
int kh_cli_ts_and_id (const char *program, const char *id_text, const char *ts_text,
                      uint64_t *ts, uint8_t id [KH_ID_SIZE]);

/* Says on stderr what the hub's refusal err means to the command (e.g. a rule of
   the lifecycle), instead of kh_cli_report's line. Returns true if it did. */
typedef bool (kh_cli_explain_fn) (kh_cli_t *cli, const kh_error_reply_t *err, void *arg);

/* How kh_cli_send publishes. */
typedef struct {
    const char *program;                /* "kreishub publish", in messages */
    uint8_t     id [KH_ID_SIZE];        /* the envelope's id, named for a retry */
    int         timeout;                /* ms for each answer */
    int         retries;                /* resends without an answer */
    bool        quiet;                  /* do not print "seq N" */
    kh_cli_explain_fn *explain;         /* NULL, or for the hub's refusals */
    void       *arg;                    /* explain's */
} kh_cli_send_t;

/* Publishes the envelope builder holds (kh_builder_encode done) to the hub, waits
   until it is stored and prints "seq N" ("seq N (duplicate)" for an id stored
   before) unless quiet; *seq is set. Without an answer from a hub it reached, it
   names the id to retry with. Returns the exit status, after saying why on
   stderr (explain, else kh_cli_report). */
int kh_cli_send (kh_cli_t *cli, const kh_cli_send_t *send, const kh_builder_t *builder,
                 uint64_t *seq);

/* ----------------------------------------------------------------- items */
/* Reads text, an item's id (as the log prints it, or 32 hex digits) or its seq
   (digits: the seq of its first message, as `kreishub items` shows it), into id;
   a seq is looked up in the store (timeout ms). Returns KH_EXIT_OK, or the exit
   status after saying on stderr why: neither an id nor a seq (1), no record at
   that seq (2), the seq of a message about an item rather than an item (1, naming
   the item), no answer (3). */
int kh_cli_item_id (kh_cli_t *cli, const char *program, const char *text, int timeout,
                    uint8_t id [KH_ID_SIZE]);

/* An item fetched from the catalogue, kept beyond the reply that carried it. */
typedef struct {
    kh_item_t         item;             /* its views point into the fields below */
    bool              found;
    bool              failed;           /* memory ran out */
    uint8_t          *fields;
    kh_participant_t *participants;
} kh_cli_item_t;

/* Fetches the item id through client into kept (found false if there is none).
   Returns 0 or kh_client_items' code (KH_ENOMEM if it could not be kept). Free
   with kh_cli_item_release, whatever this returns. */
int kh_cli_item_fetch (kh_client_t *client, const uint8_t id [KH_ID_SIZE], int timeout,
                       kh_cli_item_t *kept);
void kh_cli_item_release (kh_cli_item_t *kept);

/* --------------------------------------------------------------- output */
typedef enum {
    KH_FORMAT_TABLE,                    /* aligned columns: seq, at, type, from, title */
    KH_FORMAT_JSON,                     /* one object per line (kh_record_to_json) */
    KH_FORMAT_CSV                       /* RFC 4180 with a header (kh_record_to_csv) */
} kh_format_t;

/* Reads a format name; returns 0 or -1. */
int kh_cli_format (const char *text, kh_format_t *format);

/* Prints the header line of format (none for json) to file; the table's FROM column
   is as wide as an AGS and the longest name of names (NULL: no names). */
void kh_cli_print_header (FILE *file, kh_format_t format, const kh_members_t *names);

/* Prints one record as a line of format to file, in a table with the sender's name
   next to its AGS (if names knows it). Returns 0, or -1 if it cannot be rendered
   (out of memory); a record whose envelope cannot be read is shown with '?' in its
   table columns. */
int kh_cli_print_record (FILE *file, kh_format_t format, const kh_record_t *rec,
                         const kh_members_t *names);

/* The same for the audit (`kreishub log --audit`): the header of format, and one
   audit record as a line (table: seq, at, endpoint, command, code, peer, claimed,
   ags, role, reason, "-" for what is not known; json and csv: every field, the
   key and the code's number too); names as for records. Returns 0, or -1 if
   memory ran out (json). */
void kh_cli_print_audit_header (FILE *file, kh_format_t format, const kh_members_t *names);
int kh_cli_print_audit (FILE *file, kh_format_t format, const kh_audit_t *rec,
                        const kh_members_t *names);

#endif
