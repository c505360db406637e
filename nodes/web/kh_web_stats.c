/*  kh_web_stats.c - the statistics (/stats): items and messages per municipality, month and Handlungsfeld as SVG bar charts, and the broker's counters. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_web_html.h"
#include "kh_web_pages.h"
#include "kh_web_svg.h"

#define S_COUNTERS_MS   1000            /* how long the broker may take to answer */

/* Writes the label of a group's key into out: the name and AGS of a
   municipality, "Handlungsfeld N", or the key as it is. */
static void
s_label (kh_web_req_t *req, const char *by, const char *key, char *out, size_t cap)
{
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    const char *name = members ? kh_members_name (members, key) : NULL;
    if (strcmp (by, "municipality") == 0 && name)
        snprintf (out, cap, "%s (%s)", name, key);
    else
    if (strcmp (by, "hf") == 0)
        snprintf (out, cap, key [0] ? "Handlungsfeld %s" : "ohne Handlungsfeld", key);
    else
        snprintf (out, cap, "%s", key);
}

/* Counts the log grouped by by and draws two charts of it, items and
   messages, under heading. Returns 0, or -1 if the store cannot be read. */
static int
s_chart (kh_web_req_t *req, const char *by, const char *heading)
{
    kh_stats_query_t q = { .req = 1 };
    snprintf (q.by, sizeof q.by, "%s", by);
    kh_stats_t *stats = NULL;
    kh_problem_t why = { 0 };
    kh_store_t *store = kh_web_req_store (req);
    if (!store || kh_store_stats (store, &q, &stats, &why)) {
        zsys_warning ("web: cannot count the store: %s", why.reason);
        return -1;
    }
    size_t count = stats->count < KH_WEB_SVG_BARS_MAX ? stats->count : KH_WEB_SVG_BARS_MAX;
    kh_web_bar_t *bars = calloc (count + 1, sizeof *bars);
    char (*labels) [96] = calloc (count + 1, sizeof *labels);
    for (size_t i = 0; bars && labels && i < count; i++) {
        s_label (req, by, stats->rows [i].key, labels [i], sizeof labels [i]);
        bars [i].label = labels [i];
        bars [i].value = stats->rows [i].items;
    }
    kh_web_printf (req, "<section class=\"chart\" id=\"by-%s\"><h2>%s</h2><h3>Einträge</h3>",
                   by, heading);
    kh_web_svg_bars (kh_web_req_out (req), "Einträge", bars, bars && labels ? count : 0);
    for (size_t i = 0; bars && labels && i < count; i++)
        bars [i].value = stats->rows [i].messages;
    kh_web_puts (req, "<h3>Nachrichten</h3>");
    kh_web_svg_bars (kh_web_req_out (req), "Nachrichten", bars, bars && labels ? count : 0);
    kh_web_puts (req, "</section>\n");
    free (bars);
    free (labels);
    kh_stats_destroy (&stats);
    return 0;
}

/* Asks the broker for its counters over the client endpoint. Returns 0, or -1
   with why (German) written into reason. */
static int
s_ask_counters (kh_web_req_t *req, kh_counters_t *counters, char *reason, size_t cap)
{
    const kh_web_config_t *config = kh_web_config (kh_web_req_web (req));
    if (!config->client_ep) {
        snprintf (reason, cap, "Kein Broker eingestellt (--client).");
        return -1;
    }
    kh_problem_t why = { 0 };
    kh_keys_t *keys = config->cert
                    ? kh_keys_load (config->cert, config->server_cert, &why) : NULL;
    if (config->cert && !keys) {
        snprintf (reason, cap, "Das Zertifikat ist nicht lesbar: %s", why.reason);
        return -1;
    }
    kh_client_t *client = keys ? kh_client_new_secure (config->client_ep, keys)
                               : kh_client_new (config->client_ep);
    kh_keys_destroy (&keys);
    int rc = client ? kh_client_counters (client, S_COUNTERS_MS, counters) : -1;
    kh_client_destroy (&client);
    if (rc)
        snprintf (reason, cap, "Der Broker ist nicht erreichbar (%s).",
                  rc > 0 ? kh_strerror (rc) : "keine Verbindung");
    return rc ? -1 : 0;
}

/* Writes the broker's live counters, or that it cannot be reached. */
static void
s_counters (kh_web_req_t *req)
{
    kh_counters_t c = { 0 };
    char reason [400];
    kh_web_puts (req, "<section id=\"counters\"><h2>Broker</h2>");
    if (s_ask_counters (req, &c, reason, sizeof reason)) {
        kh_web_puts (req, "<p class=\"warning\">");
        kh_web_html (kh_web_req_out (req), reason);
        kh_web_puts (req, "</p></section>\n");
        return;
    }
    kh_web_printf (req, "<dl class=\"facts\"><dt>Läuft seit</dt><dd>%" PRIu64 " s</dd>"
                   "<dt>Verbindungen</dt><dd>%" PRIu32 " Clients, %" PRIu32 " Abonnenten</dd>"
                   "<dt>Recorder</dt><dd>%s</dd><dt>Letzte Nr.</dt><dd>%" PRIu64 "</dd>"
                   "<dt>Veröffentlicht</dt><dd>%" PRIu64 " (%" PRIu64 "/s)</dd>"
                   "<dt>Fehlerantworten</dt><dd>%" PRIu64 ", davon %" PRIu64 " ausgelastet</dd>"
                   "<dt>Verlorene Prüfeinträge</dt><dd>%" PRIu64 "</dd></dl></section>\n",
                   c.uptime_ms / 1000, c.clients, c.subscribers,
                   c.recorder_up ? "verbunden" : "nicht verbunden", c.head, c.published,
                   c.rate, c.errors, c.busy, c.audit_dropped);
}

int
kh__web_stats (kh_web_req_t *req)
{
    kh_web_page_begin (req, "Statistik", "/stats");
    if (s_chart (req, "municipality", "Nach Kommune")
    ||  s_chart (req, "month", "Nach Monat")
    ||  s_chart (req, "hf", "Nach Handlungsfeld"))
        return kh_web_error (req, 503, "Der Speicher kann gerade nicht gelesen werden.");
    s_counters (req);
    return kh_web_page_end (req, false);
}
