/*  kh_web_log.c - the log for admins (/log, paged by seq, each row's body expandable), its exports (/log.csv, /log.jsonl) and the audit (/audit). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_export.h"
#include "kh_json.h"
#include "kh_when.h"
#include "kh_web_html.h"
#include "kh_web_pages.h"

#define S_PAGE_LOG      100             /* records on a page of the log */
#define S_EXPORT_MAX    200000          /* records in an export, at most */

/* Reads the time parameter key (a Berlin date or time, "" or absent: none) into
   *ms, the day's end if until. Returns 0, or -1 with a 400 answered. */
static int
s_time (kh_web_req_t *req, const char *key, bool until, uint64_t *ms)
{
    const char *text = kh_web_req_query (req, key);
    *ms = 0;
    if (!text || !text [0] || kh_when_parse (text, false, until, ms) == 0)
        return 0;
    kh_web_error (req, 400, "Die Zeit ist ungültig (2022-03-30, 30.03.2022 oder "
                  "30.03.2022 14:00).");
    return -1;
}

/* Reads the log's filters into q: types, senders, since/until on the publication
   time, a search, and the cursor after (since_seq). Returns 0, or -1 with a 400
   answered. */
static int
s_log_query (kh_web_req_t *req, kh_query_t *q, uint32_t limit)
{
    memset (q, 0, sizeof *q);
    q->req = 1;
    q->limit = limit;
    const char *search = kh_web_req_query (req, "q");
    if (kh__web_types (req, "type", false, q->type, &q->type_count)
    ||  kh__web_senders (req, "from", q->from, &q->from_count)
    ||  s_time (req, "since", false, &q->since_ts)
    ||  s_time (req, "until", true, &q->until_ts)
    ||  kh__web_number (req, "after", UINT64_MAX, &q->since_seq))
        return -1;
    if (search && strlen (search) > KH_SEARCH_BYTES)
        return kh_web_error (req, 400, "Der Suchtext ist zu lang."), -1;
    snprintf (q->search, sizeof q->search, "%s", search ? search : "");
    return 0;
}

/* The log's filter form. */
static void
s_log_form (kh_web_req_t *req)
{
    static const char *const types [] = { "idea", "offer", "request", "announcement",
        "interest", "status", "revise", "comment", NULL };
    const char *chosen = kh_web_req_query (req, "type");
    kh_web_puts (req, "<form class=\"filters\" method=\"get\" action=\"/log\">"
                 "<label for=\"f-type\">Art</label><select name=\"type\" id=\"f-type\">"
                 "<option value=\"\">alle</option>");
    for (size_t i = 0; types [i]; i++)
        kh_web_printf (req, "<option value=\"%s\"%s>%s</option>", types [i],
                       chosen && strcmp (chosen, types [i]) == 0 ? " selected" : "",
                       kh__web_type_label (types [i]));
    kh_web_puts (req, "</select><label for=\"f-from\">Von</label>");
    kh__web_member_select (req, "from", kh_web_req_query (req, "from"));
    static const char *const texts [][2] = {
        { "since", "Von (Datum)" }, { "until", "Bis (Datum)" }, { "q", "Volltext" } };
    for (size_t i = 0; i < 3; i++) {
        kh_web_printf (req, "<label for=\"f-%s\">%s</label><input type=\"text\" name=\"%s\" "
                       "id=\"f-%s\" value=\"", texts [i][0], texts [i][1], texts [i][0],
                       texts [i][0]);
        kh_web_html (kh_web_req_out (req), kh_web_req_query (req, texts [i][0]));
        kh_web_puts (req, "\">");
    }
    kh_web_puts (req, "<button type=\"submit\">Filtern</button> <a href=\"/log\">"
                 "zurücksetzen</a></form>\n");
}

/* Writes one record as a row of the log, its body in a <details>. */
static void
s_log_row (kh_web_req_t *req, const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    bool ok = kh_record_unpack (rec, &u, &pieces) == 0;
    char from [KH_AGS_MAX + 1] = "?", type [KH_TYPE_MAX + 1] = "?";
    if (ok && pieces.from->via.str.size <= KH_AGS_MAX)
        snprintf (from, sizeof from, "%.*s", (int) pieces.from->via.str.size,
                  pieces.from->via.str.ptr);
    if (ok && pieces.type->via.str.size <= KH_TYPE_MAX)
        snprintf (type, sizeof type, "%.*s", (int) pieces.type->via.str.size,
                  pieces.type->via.str.ptr);
    kh_web_printf (req, "<tr data-seq=\"%" PRIu64 "\"><td>%" PRIu64 "</td><td>", rec->info.seq,
                   rec->info.seq);
    if (ok)
        kh_web_time (req, pieces.ts);
    kh_web_printf (req, "</td><td>%s</td><td>", kh__web_type_label (type));
    kh_web_ags (req, from);
    kh_web_puts (req, "</td><td><details><summary>");
    kh__web_event (req, rec);
    kh_web_puts (req, "</summary><pre class=\"body\">");
    char *json = ok ? kh_json_from_object (pieces.body) : NULL;
    kh_web_html (kh_web_req_out (req), json ? json : "(nicht lesbar)");
    free (json);
    msgpack_unpacked_destroy (&u);
    kh_web_puts (req, "</pre></details></td></tr>\n");
}

/* Writes the export links and the "weiter" link for the page that ended at next. */
static void
s_log_links (kh_web_req_t *req, bool more, uint64_t next)
{
    static const char *const skip [] = { "after", NULL };
    kh_web_puts (req, "<p class=\"pager\">");
    if (more) {
        char after [24];
        snprintf (after, sizeof after, "%" PRIu64, next);
        kh_web_puts (req, "<a rel=\"next\" href=\"/log");
        kh__web_link_params (req, skip, "after", after);
        kh_web_puts (req, "\">weiter</a> ");
    }
    kh_web_puts (req, "Export: <a href=\"/log.csv");
    kh__web_link_params (req, skip, NULL, NULL);
    kh_web_puts (req, "\">CSV (Tabellenkalkulation)</a> <a href=\"/log.jsonl");
    kh__web_link_params (req, skip, NULL, NULL);
    kh_web_puts (req, "\">JSON Lines</a></p>\n");
}

int
kh__web_log (kh_web_req_t *req)
{
    kh_query_t q;
    if (s_log_query (req, &q, S_PAGE_LOG))
        return 0;
    kh__web_records_t page;
    if (kh__web_read_records (req, &q, &page)) {
        kh__web_records_release (&page);
        return kh_web_error (req, 503, "Der Speicher kann gerade nicht gelesen werden.");
    }
    kh_web_page_begin (req, "Protokoll", "/log");
    s_log_form (req);
    kh_web_puts (req, "<table class=\"log\" id=\"log\"><thead><tr><th>Nr.</th><th>"
                 "Veröffentlicht</th><th>Art</th><th>Von</th><th>Inhalt</th></tr></thead>"
                 "<tbody>\n");
    for (uint32_t i = 0; i < page.rows.count; i++)
        s_log_row (req, &page.rows.rows [i]);
    kh_web_puts (req, "</tbody></table>\n");
    s_log_links (req, page.rows.more, page.rows.next);
    kh__web_records_release (&page);
    return kh_web_page_end (req, false);
}

/* Writes every record the log's filters select (S_EXPORT_MAX at most) through
   an export of the kind asked into the answer. Returns 0, or -1. */
static int
s_export (kh_web_req_t *req, bool json, const char *type, const char *filename)
{
    kh_query_t q;
    if (s_log_query (req, &q, 0))
        return 0;
    char err [256], *data = NULL, disposition [96];
    size_t size = 0;
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    kh_export_t *export = kh_export_new (NULL, json, !json, members, err, sizeof err);
    FILE *file = export ? open_memstream (&data, &size) : NULL;
    int rc = file ? 0 : -1;
    if (file)
        kh_export_header (export, file);
    for (size_t rows = 0, more = 1; rc == 0 && more && rows < S_EXPORT_MAX; ) {
        kh__web_records_t page;
        rc = kh__web_read_records (req, &q, &page);
        for (uint32_t i = 0; rc == 0 && i < page.rows.count; i++)
            kh_export_record (export, file, &page.rows.rows [i]);
        rows += page.rows.count;
        more = page.rows.more && page.rows.count;
        q.since_seq = page.rows.next;
        kh__web_records_release (&page);
    }
    if (file)
        fclose (file);
    kh_export_destroy (&export);
    snprintf (disposition, sizeof disposition, "attachment; filename=\"%s\"", filename);
    if (rc == 0) {
        kh_web_type (req, type);
        kh_web_header (req, "Content-Disposition", disposition);
        kh_web_write (req, data, size);
    }
    free (data);
    return rc == 0 ? 0 : kh_web_error (req, 503, "Der Export ist gescheitert.");
}

int
kh__web_log_csv (kh_web_req_t *req)
{
    return s_export (req, false, "text/csv; charset=utf-8", "kreishub-protokoll.csv");
}

int
kh__web_log_jsonl (kh_web_req_t *req)
{
    return s_export (req, true, "application/jsonl; charset=utf-8",
                     "kreishub-protokoll.jsonl");
}

/* ------------------------------------------------------------------ audit */

/* Writes one audit record as a row. */
static void
s_audit_row (kh_web_req_t *req, const kh_audit_t *a)
{
    kh_web_buf_t *out = kh_web_req_out (req);
    kh_web_printf (req, "<tr><td>%" PRIu64 "</td><td>", a->seq);
    kh_web_time (req, a->at);
    kh_web_puts (req, "</td><td>");
    kh_web_html (out, a->endpoint);
    kh_web_puts (req, " ");
    kh_web_html (out, a->command);
    kh_web_puts (req, "</td><td>");
    kh_web_html (out, a->peer);
    kh_web_puts (req, "</td><td>");
    if (a->ags [0]) {
        kh_web_ags (req, a->ags);
        kh_web_puts (req, " (");
        kh_web_html (out, a->role);
        kh_web_puts (req, ")");
    }
    kh_web_puts (req, "</td><td>");
    if (a->claimed [0])
        kh_web_ags (req, a->claimed);
    kh_web_puts (req, "</td><td>");
    kh_web_html (out, a->code ? kh_errname (a->code) : "Hinweis");
    kh_web_puts (req, "</td><td>");
    kh_web_html (out, a->reason);
    kh_web_puts (req, "</td></tr>\n");
}

int
kh__web_audit (kh_web_req_t *req)
{
    kh_audit_query_t q = { .req = 1, .limit = S_PAGE_LOG };
    if (kh__web_number (req, "after", UINT64_MAX, &q.since_seq))
        return 0;
    kh__web_audit_t page;
    if (kh__web_read_audit (req, &q, &page)) {
        kh__web_audit_release (&page);
        return kh_web_error (req, 503, "Der Speicher kann gerade nicht gelesen werden.");
    }
    kh_web_page_begin (req, "Prüfprotokoll", "/audit");
    kh_web_puts (req, "<p>Abgewiesene Nachrichten und Verbindungen, wie der Broker sie "
                 "festhielt.</p><table class=\"audit\" id=\"audit\"><thead><tr><th>Nr.</th>"
                 "<th>Zeit</th><th>Wo</th><th>Gegenstelle</th><th>Zertifikat</th><th>Angegeben"
                 "</th><th>Code</th><th>Grund</th></tr></thead><tbody>\n");
    for (uint32_t i = 0; i < page.rows.count; i++)
        s_audit_row (req, &page.rows.rows [i]);
    kh_web_puts (req, "</tbody></table>\n");
    if (page.rows.more)
        kh_web_printf (req, "<p class=\"pager\"><a rel=\"next\" href=\"/audit?after=%" PRIu64
                       "\">weiter</a></p>\n", page.rows.next);
    kh__web_audit_release (&page);
    return kh_web_page_end (req, false);
}
