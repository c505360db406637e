/*  kh_cli_args.c - what the kreishub commands share: endpoints, numbers, positions in
    the log, exit statuses, and the option splitting that lets `publish` take body
    fields as flags. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "kh_cli.h"
#include "kh_json.h"
#include "kh_plain.h"

/* ------------------------------------------------------- shared options */

const kh_opt_t *
kh_cli_shared (kh_cli_t *cli)
{
    const kh_opt_t shared [] = {
        { "endpoint", 'e', "EP", &cli->endpoint, NULL,
          "broker's client endpoint (env KREISHUB_ENDPOINT)" },
        { "live", 'l', "EP", &cli->live, NULL, "broker's live endpoint (env KREISHUB_LIVE)" },
        { "cert", 0, "FILE", &cli->cert, NULL,
          "your certificate, with its secret key (env KREISHUB_CERT)" },
        { "server-cert", 0, "FILE", &cli->server_cert, NULL,
          "the hub's public certificate (env KREISHUB_SERVER_CERT)" },
        { "plain", 0, NULL, NULL, &cli->plain,
          "no certificate: a hub in plain mode on this machine\n"
          "(env KREISHUB_PLAIN=1)" },
        { "config", 'c', "FILE", &cli->config, NULL,
          "ZPL file, section 'client' (env KREISHUB_CONFIG)" },
        { NULL }
    };
    _Static_assert (sizeof shared == sizeof cli->shared, "kh_cli_t.shared has room");
    memcpy (cli->shared, shared, sizeof shared);
    return cli->shared;
}

int
kh_cli_parsed (kh_cli_t *cli, int rc)
{
    if (rc != KH_OPTS_GO)
        return kh_opts_exit (rc, KH_EXIT_USAGE);
    return kh_cli_load_config (cli) ? KH_EXIT_USAGE : KH_CLI_GO;
}

int
kh_cli_bad (const kh_opts_t *opts)
{
    return kh_opts_bad (opts, NULL);
}

const char *
kh_cli_config_path (const kh_cli_t *cli)
{
    return kh_conf_get (cli->config, "KREISHUB_CONFIG", NULL, NULL, NULL);
}

int
kh_cli_load_config (kh_cli_t *cli)
{
    return cli->root ? 0 : kh_conf_load ("kreishub", kh_cli_config_path (cli), &cli->root);
}

const kh_members_t *
kh_cli_members (kh_cli_t *cli)
{
    if (cli->members || kh_cli_load_config (cli))
        return cli->members;
    kh_problem_t why;
    cli->members = kh_members_load (cli->root, &why);
    if (!cli->members)
        fprintf (stderr, "kreishub: the config file's section kreis: %s\n", why.reason);
    return cli->members;
}

void
kh_cli_release (kh_cli_t *cli)
{
    zconfig_destroy (&cli->root);
    kh_keys_destroy (&cli->keys);
    kh_members_destroy (&cli->members);
}

/* ------------------------------------------------------------ endpoints */

const char *
kh_cli_endpoint (const kh_cli_t *cli)
{
    return kh_conf_get (cli->endpoint, "KREISHUB_ENDPOINT", cli->root, "client/endpoint",
                        KH_DEFAULT_CLIENT);
}

const char *
kh_cli_live (const kh_cli_t *cli)
{
    return kh_conf_get (cli->live, "KREISHUB_LIVE", cli->root, "client/live",
                        KH_DEFAULT_LIVE);
}

const char *
kh_cli_from (const kh_cli_t *cli, const char *flag)
{
    return kh_conf_get (flag, "KREISHUB_FROM", cli->root, "client/from", NULL);
}

/* ------------------------------------------------------------ identity */

const char *
kh_cli_cert (const kh_cli_t *cli)
{
    return kh_conf_get (cli->cert, "KREISHUB_CERT", cli->root, "client/cert", NULL);
}

const char *
kh_cli_server_cert (const kh_cli_t *cli)
{
    return kh_conf_get (cli->server_cert, "KREISHUB_SERVER_CERT", cli->root,
                        "client/server_cert", NULL);
}

bool
kh_cli_plain (const kh_cli_t *cli)
{
    return kh_plain_asked (cli->plain, cli->root, "client/plain");
}

/* Loads cli->keys. Returns 0, or -1 after saying what to give. */
static int
s_load_keys (kh_cli_t *cli)
{
    const char *cert = kh_cli_cert (cli), *server = kh_cli_server_cert (cli);
    if (!cert || !server) {
        fprintf (stderr, "kreishub: the hub knows you by your certificate: give %s%s%s\n"
                 "kreishub: (or set %s%s%s), or --plain for a hub in plain mode on this "
                 "machine\n", cert ? "" : "--cert FILE", cert || server ? "" : " and ",
                 server ? "" : "--server-cert FILE (the hub's server.cert)",
                 cert ? "" : "KREISHUB_CERT", cert || server ? "" : ", ",
                 server ? "" : "KREISHUB_SERVER_CERT");
        return -1;
    }
    kh_problem_t why;
    cli->keys = kh_keys_load (cert, server, &why);
    if (!cli->keys)
        fprintf (stderr, "kreishub: %s\n", why.reason);
    return cli->keys ? 0 : -1;
}

int
kh_cli_trust (kh_cli_t *cli, bool live)
{
    if (cli->trust == 0 && kh_cli_plain (cli)) {
        const char *endpoints [2] = { kh_cli_endpoint (cli), live ? kh_cli_live (cli) : NULL };
        cli->trust = kh_plain_start ("kreishub", endpoints, 2) ? -1 : 2;
    }
    if (cli->trust == 0)
        cli->trust = s_load_keys (cli) ? -1 : 1;
    return cli->trust < 0 ? -1 : 0;
}

kh_client_t *
kh_cli_client (kh_cli_t *cli)
{
    if (kh_cli_trust (cli, false))
        return NULL;
    const char *endpoint = kh_cli_endpoint (cli);
    kh_client_t *client = kh_client_new_watched (endpoint, cli->keys);
    if (!client)
        fprintf (stderr, "kreishub: not a valid endpoint: %s\n", endpoint);
    return client;
}

kh_subscriber_t *
kh_cli_subscriber (kh_cli_t *cli, const kh_query_t *filter, uint64_t since)
{
    if (kh_cli_trust (cli, true))
        return NULL;
    const char *endpoint = kh_cli_endpoint (cli), *live = kh_cli_live (cli);
    kh_subscriber_t *sub = kh_subscriber_new_filtered (endpoint, live, cli->keys, filter,
                                                       since, true);
    if (!sub)
        fprintf (stderr, "kreishub: not valid endpoints: %s, %s\n", endpoint, live);
    return sub;
}

/* ------------------------------------------------------------ arguments */

int
kh_cli_uint (const char *name, const char *text, uint64_t max, uint64_t *value)
{
    return text ? kh_value_number ("kreishub", name, text, 0, max, value) : 0;
}

int
kh_cli_int (const char *name, const char *text, int *value)
{
    uint64_t n;
    if (!text)
        return 0;
    if (kh_cli_uint (name, text, INT_MAX, &n))
        return -1;
    *value = (int) n;
    return 0;
}

int
kh_cli_filter (kh_cli_t *cli, const char *program, const kh_opt_list_t *types,
               const kh_opt_list_t *from, kh_query_t *query)
{
    char err [600];
    for (size_t i = 0; types && i < types->count; i++)
        if (kh_filter_add_type (query->type, &query->type_count, false, types->items [i],
                                err, sizeof err)) {
            fprintf (stderr, "%s: --type: %s\n", program, err);
            return -1;
        }
    const kh_members_t *members = from && from->count ? kh_cli_members (cli) : NULL;
    if (from && from->count && !members)
        return -1;
    for (size_t i = 0; from && i < from->count; i++)
        if (kh_filter_add_sender (query->from, &query->from_count, members, from->items [i],
                                  err, sizeof err)) {
            fprintf (stderr, "%s: --from: %s\n", program, err);
            return -1;
        }
    return 0;
}

/* ------------------------------------------------------- exit statuses */

/* True for codes that mean "the hub did not answer or cannot store now", or that
   the request could not be made here at all. */
static bool
s_unreachable (int code)
{
    return kh_err_transient (code) || code == KH_EIO || code == KH_ENOMEM;
}

int
kh_cli_exit_status (int code)
{
    if (code == KH_OK)
        return KH_EXIT_OK;
    if (code == KH_EINVAL)
        return KH_EXIT_USAGE;
    return s_unreachable (code) ? KH_EXIT_UNREACHABLE : KH_EXIT_REJECTED;
}

/* Says why the hub at endpoint gave no answer, by what is known of the connection. */
static void
s_no_answer (const char *endpoint, kh_link_t link)
{
    if (link == KH_LINK_NONE)
        fprintf (stderr, "kreishub: no connection to the hub at %s (it does not run there, "
                 "or the endpoint is wrong)\n", endpoint);
    else
    if (link == KH_LINK_UP)
        fprintf (stderr, "kreishub: connected to the hub at %s, but no answer in time\n",
                 endpoint);
    else
    if (link == KH_LINK_LOST)
        fprintf (stderr, "kreishub: the connection to the hub at %s broke off; no answer "
                 "in time\n", endpoint);
    else
    if (link == KH_LINK_REFUSED)
        fprintf (stderr, "kreishub: the hub at %s refused the connection: it does not "
                 "admit this certificate, or it is not the hub of the server certificate "
                 "given (or one side is in plain mode)\n", endpoint);
    else
        fprintf (stderr, "kreishub: no answer from the hub at %s in time\n", endpoint);
}

int
kh_cli_report (const char *endpoint, int code, const kh_error_reply_t *err, kh_link_t link)
{
    int status = kh_cli_exit_status (code);
    const char *name = err && err->code == code ? err->name : kh_errname (code);
    const char *reason = err && err->code == code ? err->reason : kh_strerror (code);
    if (code == KH_ETIMEOUT || code == KH_EUNREACHABLE)
        s_no_answer (endpoint, link);
    else
    if (code == KH_EFULL)
        fprintf (stderr, "kreishub: the store is full; nothing was stored. Try again once "
                 "the hub's disk has room (%s: %s)\n", name, reason);
    else
    if (status == KH_EXIT_UNREACHABLE)
        fprintf (stderr, "kreishub: hub unavailable: %s: %s\n", name, reason);
    else
        fprintf (stderr, "kreishub: rejected: %s: %s\n", name, reason);
    return status;
}

/* ------------------------------------------------------------- splitting */

/* True if the short option c takes an argument among opts. */
static bool
s_short_takes_arg (const kh_opts_t *opts, char c)
{
    const kh_opt_t *opt = kh_opts_find (opts, NULL, 0, c);
    return opt && opt->arg;
}

/* Keeps a cluster of short options ("-e", "-eEP", "-vh") and, if its last option
   takes an argument that is not attached, the next argument too. Returns the
   index of the last argument used. */
static int
s_keep_short (int argc, char *argv [], int i, const kh_opts_t *opts, char *kept [],
              int *kept_argc)
{
    const char *a = argv [i];
    kept [(*kept_argc)++] = argv [i];
    for (size_t k = 1; a [k]; k++)
        if (s_short_takes_arg (opts, a [k])) {
            if (!a [k + 1] && i + 1 < argc)
                kept [(*kept_argc)++] = argv [++i];
            break;
        }
    return i;
}

/* Records --name[=value] (value else the next argument) as a field. Returns the
   index of the last argument used, or -1 with err set. */
static int
s_take_field (int argc, char *argv [], int i, bool json, kh_cli_field_t *field,
              char *err, size_t err_size)
{
    const char *name = argv [i] + 2;
    const char *eq = strchr (name, '=');
    size_t len = eq ? (size_t) (eq - name) : strlen (name);
    if (len >= sizeof field->name) {
        snprintf (err, err_size, "option --%.20s...: name too long", name);
        return -1;
    }
    if (!eq && i + 1 >= argc) {
        snprintf (err, err_size, "option --%s needs a value", name);
        return -1;
    }
    field->json = json;
    for (size_t k = 0; k < len; k++)
        field->name [k] = name [k] == '-' ? '_' : name [k];
    field->name [len] = 0;
    field->value = eq ? eq + 1 : argv [++i];
    return i;
}

int
kh_cli_split (int argc, char *argv [], const kh_opts_t *opts, char *kept [], int *kept_argc,
              kh_cli_field_t *fields, int field_max, char *err, size_t err_size)
{
    int count = 0;
    *kept_argc = 0;
    kept [(*kept_argc)++] = argv [0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv [i];
        if (streq (a, "--")) {
            while (i < argc)
                kept [(*kept_argc)++] = argv [i++];
            break;
        }
        if (a [0] != '-' || a [1] == 0) {
            kept [(*kept_argc)++] = argv [i];
            continue;
        }
        if (a [1] != '-') {
            i = s_keep_short (argc, argv, i, opts, kept, kept_argc);
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr (name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen (name);
        const kh_opt_t *opt = kh_opts_find (opts, name, len, 0);
        bool json = opt && streq (opt->name, "json");
        if (opt && !json) {
            kept [(*kept_argc)++] = argv [i];
            if (opt->arg && !eq && i + 1 < argc)
                kept [(*kept_argc)++] = argv [++i];
            continue;
        }
        if (count == field_max) {
            snprintf (err, err_size, "too many fields (at most %d)", field_max);
            return -1;
        }
        i = s_take_field (argc, argv, i, json, &fields [count], err, err_size);
        if (i < 0)
            return -1;
        count++;
    }
    kept [*kept_argc] = NULL;
    return count;
}
