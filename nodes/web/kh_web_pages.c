/*  kh_web_pages.c - the catalogue (/) and an item with its timeline (/item/SEQ), and the routes of every page. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "kh_filter.h"
#include <msgpack.h>
#include "kh_itemview.h"
#include "kh_json.h"
#include "kh_web_html.h"
#include "kh_web_pages.h"

#define S_PAGE_ITEMS    50              /* items on a page of the catalogue */
#define S_TIMELINE_MAX  5000            /* messages of a timeline, at most */

/* ------------------------------------------------------------- catalogue */

/* Reads the catalogue's filters from the query string into q. Returns 0, or -1
   with a 400 answered. */
static int
s_items_query (kh_web_req_t *req, kh_items_query_t *q)
{
    memset (q, 0, sizeof *q);
    q->req = 1;
    q->limit = S_PAGE_ITEMS;
    uint64_t hf, before;
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    const char *topic = kh_web_req_query (req, "topic");
    const char *part = kh_web_req_query (req, "participant");
    const char *search = kh_web_req_query (req, "q");
    char err [256];
    if (kh__web_types (req, "type", true, q->type, &q->type_count)
    ||  kh__web_senders (req, "from", q->from, &q->from_count)
    ||  kh__web_number (req, "hf", 5, &hf)
    ||  kh__web_number (req, "before", UINT64_MAX, &before))
        return -1;
    const char *stages [KH_FILTER_MAX + 1];
    size_t n = kh_web_req_query_all (req, "status", stages, KH_FILTER_MAX + 1);
    for (size_t i = 0; i < n; i++) {
        if (!stages [i][0])
            continue;
        if (i >= KH_FILTER_MAX || !kh_lifecycle_known (stages [i]))
            return kh_web_error (req, 400, "Diesen Status gibt es nicht."), -1;
        snprintf (q->status [q->status_count++], KH_STAGE_MAX + 1, "%s", stages [i]);
    }
    if (topic && strlen (topic) > KH_TOPIC_BYTES)
        return kh_web_error (req, 400, "Das Thema ist zu lang."), -1;
    if (search && strlen (search) > KH_SEARCH_BYTES)
        return kh_web_error (req, 400, "Der Suchtext ist zu lang."), -1;
    if (part && part [0] && kh_filter_one_ags (members, part, q->participant, err, sizeof err))
        return kh_web_error (req, 400, "Diesen Beteiligten gibt es nicht."), -1;
    snprintf (q->topic, sizeof q->topic, "%s", topic ? topic : "");
    snprintf (q->search, sizeof q->search, "%s", search ? search : "");
    q->hf = (uint32_t) hf;
    q->before = before;
    q->open = kh_web_req_query (req, "open") != NULL;
    return 0;
}

/* Writes a <select> of choices (value, label pairs ending with NULL) named key
   with "alle" first and the request's value selected. */
static void
s_select (kh_web_req_t *req, const char *key, const char *label,
          const char *const choices [][2])
{
    const char *chosen = kh_web_req_query (req, key);
    kh_web_printf (req, "<label for=\"f-%s\">%s</label><select name=\"%s\" id=\"f-%s\">"
                   "<option value=\"\">alle</option>", key, label, key, key);
    for (size_t i = 0; choices [i][0]; i++)
        kh_web_printf (req, "<option value=\"%s\"%s>%s</option>", choices [i][0],
                       chosen && strcmp (chosen, choices [i][0]) == 0 ? " selected" : "",
                       choices [i][1]);
    kh_web_puts (req, "</select>");
}

/* Writes a text <input> named key holding the request's value. */
static void
s_input (kh_web_req_t *req, const char *key, const char *label, const char *type)
{
    kh_web_printf (req, "<label for=\"f-%s\">%s</label><input type=\"%s\" name=\"%s\" "
                   "id=\"f-%s\" value=\"", key, label, type, key, key);
    kh_web_html (kh_web_req_out (req), kh_web_req_query (req, key));
    kh_web_puts (req, "\">");
}

/* The catalogue's filter form (GET, works without script). */
static void
s_catalogue_form (kh_web_req_t *req)
{
    static const char *const types [][2] = {
        { "idea", "Idee" }, { "offer", "Angebot" }, { "request", "Gesuch" },
        { "announcement", "Mitteilung" }, { NULL, NULL } };
    static const char *const hfs [][2] = {
        { "1", "1" }, { "2", "2" }, { "3", "3" }, { "4", "4" }, { "5", "5" }, { NULL, NULL } };
    static const char *const stages [][2] = {
        { "proposed", "vorgeschlagen" }, { "discussion", "in Diskussion" },
        { "decided", "beschlossen" }, { "pilot", "im Pilotbetrieb" },
        { "rollout", "in Einführung" }, { "done", "abgeschlossen" },
        { "withdrawn", "zurückgezogen" }, { NULL, NULL } };
    kh_web_puts (req, "<form class=\"filters\" method=\"get\" action=\"/\">");
    s_select (req, "type", "Art", types);
    s_select (req, "hf", "Handlungsfeld", hfs);
    s_input (req, "topic", "Thema", "text");
    s_select (req, "status", "Status", stages);
    kh_web_puts (req, "<label for=\"f-from\">Von</label>");
    kh__web_member_select (req, "from", kh_web_req_query (req, "from"));
    kh_web_puts (req, "<label for=\"f-participant\">Beteiligt</label>");
    kh__web_member_select (req, "participant", kh_web_req_query (req, "participant"));
    kh_web_printf (req, "<label><input type=\"checkbox\" name=\"open\" value=\"1\"%s> "
                   "nur offene</label>", kh_web_req_query (req, "open") ? " checked" : "");
    s_input (req, "q", "Volltext", "search");
    kh_web_puts (req, "<button type=\"submit\">Filtern</button> <a href=\"/\">zurücksetzen</a>"
                 "</form>\n");
}

/* Writes one item as a row of the catalogue's table. */
static void
s_item_row (kh_web_req_t *req, const kh_item_t *item)
{
    char title [KH_TITLE_BYTES + 1] = "", hf [8] = "";
    kh_itemview_field (item, "title", title, sizeof title);
    kh_itemview_field (item, "hf", hf, sizeof hf);
    kh_web_printf (req, "<tr data-seq=\"%" PRIu64 "\"><td>%" PRIu64 "</td><td>%s</td>"
                   "<td><a href=\"/item/%" PRIu64 "\">", item->seq, item->seq,
                   kh__web_type_label (item->type), item->seq);
    kh_web_html (kh_web_req_out (req), title);
    kh_web_puts (req, "</a></td><td>");
    kh_web_ags (req, item->owner);
    kh_web_printf (req, "</td><td>%s%s</td><td>", kh__web_stage_label (item->status),
                   item->expired ? ", abgelaufen" : "");
    kh_web_html (kh_web_req_out (req), hf);
    kh_web_printf (req, "</td><td>%" PRIu32 " / %" PRIu32 "</td><td>", item->joined,
                   item->interested);
    kh_web_time (req, item->last_ts);
    kh_web_puts (req, "</td></tr>\n");
}

/* GET /: the catalogue, filtered, newest activity first, paged. */
static int
s_catalogue (kh_web_req_t *req)
{
    kh_items_query_t q;
    if (s_items_query (req, &q))
        return 0;                       /* answered 400 */
    kh__web_items_t page;
    if (kh__web_read_items (req, &q, &page)) {
        kh__web_items_release (&page);
        return kh_web_error (req, 503, "Der Speicher kann gerade nicht gelesen werden.");
    }
    kh_web_page_begin (req, "Katalog", "/");
    s_catalogue_form (req);
    kh_web_printf (req, "<p class=\"count\">%" PRIu32 " Einträge%s</p>\n", page.rows.count,
                   page.rows.more ? " auf dieser Seite" : "");
    kh_web_puts (req, "<table class=\"items\" id=\"items\"><thead><tr><th>Nr.</th><th>Art"
                 "</th><th>Titel</th><th>Von</th><th>Status</th><th>HF</th><th>Beteiligt / "
                 "interessiert</th><th>Letzte Aktivität</th></tr></thead><tbody>\n");
    for (uint32_t i = 0; i < page.rows.count; i++)
        s_item_row (req, &page.rows.rows [i]);
    kh_web_puts (req, "</tbody></table>\n");
    if (page.rows.more) {
        static const char *const skip [] = { "before", NULL };
        char next [24];
        snprintf (next, sizeof next, "%" PRIu64, page.rows.next);
        kh_web_puts (req, "<p class=\"pager\"><a rel=\"next\" href=\"/");
        kh__web_link_params (req, skip, "before", next);
        kh_web_puts (req, "\">weiter</a></p>\n");
    }
    kh__web_items_release (&page);
    return kh_web_page_end (req, true);     /* live.js tells of new messages */
}

/* ------------------------------------------------------------------ item */

/* Reads the id of the item whose first message has seq into id. Returns 0, or
   -1 if there is no message at seq or it cannot be read. */
static int
s_id_at (kh_web_req_t *req, uint64_t seq, uint8_t id [KH_ID_SIZE])
{
    kh__web_records_t page;
    kh_query_t q = { .req = 1, .since_seq = seq, .until_seq = seq, .limit = 1 };
    int rc = kh__web_read_records (req, &q, &page) || page.rows.count != 1 ? -1 : 0;
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    msgpack_unpacked_init (&u);
    if (rc == 0 && (rc = kh_record_unpack (&page.rows.rows [0], &u, &pieces)) == 0)
        memcpy (id, pieces.id, KH_ID_SIZE);
    msgpack_unpacked_destroy (&u);
    kh__web_records_release (&page);
    return rc;
}

/* The item text names (its own seq, or its id): fills items (release it
   whatever this returns). Returns 0, or -1 if there is no such item. */
static int
s_find_item (kh_web_req_t *req, const char *text, kh__web_items_t *items)
{
    kh_items_query_t q = { .req = 1, .limit = 1, .has_id = true };
    uint64_t seq;
    memset (items, 0, sizeof *items);
    msgpack_sbuffer_init (&items->sb);
    if (kh_id_parse (text, q.id) != 0
    &&  (strspn (text, "0123456789") != strlen (text)
         || kh_uint_parse (text, UINT64_MAX, &seq) || s_id_at (req, seq, q.id)))
        return -1;
    msgpack_sbuffer_destroy (&items->sb);
    return kh__web_read_items (req, &q, items) || items->rows.count != 1 ? -1 : 0;
}

/* Writes the item's fields but its title as a definition list, names next to
   every AGS. */
static void
s_item_fields (kh_web_req_t *req, const kh_item_t *item)
{
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init (&u);
    bool ok = item->fields && msgpack_unpack_next (&u, (const char *) item->fields,
                  item->fields_size, &off) == MSGPACK_UNPACK_SUCCESS
           && u.data.type == MSGPACK_OBJECT_MAP;
    char *text = ok ? malloc (16384) : NULL;
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    for (uint32_t i = 0; text && i < u.data.via.map.size; i++) {
        const msgpack_object *key = &u.data.via.map.ptr [i].key;
        if (key->type != MSGPACK_OBJECT_STR
        ||  (key->via.str.size == 5 && memcmp (key->via.str.ptr, "title", 5) == 0))
            continue;
        char name [32];
        snprintf (name, sizeof name, "%.*s", (int) key->via.str.size, key->via.str.ptr);
        kh_web_puts (req, "<dt>");
        kh_web_html (kh_web_req_out (req), kh__web_field_label (name));
        kh_web_puts (req, "</dt><dd>");
        kh_itemview_value (&u.data.via.map.ptr [i].val, members, false, text, 16384);
        kh_web_html (kh_web_req_out (req), text);
        kh_web_puts (req, "</dd>");
    }
    free (text);
    msgpack_unpacked_destroy (&u);
}

/* Writes the item's facts: type, owner, status, dates, counts. */
static void
s_item_facts (kh_web_req_t *req, const kh_item_t *item)
{
    char id [KH_ID_STR_SIZE];
    kh_id_format (item->id, id);
    kh_web_printf (req, "<dl class=\"facts\"><dt>Art</dt><dd>%s</dd><dt>Nr.</dt><dd>%"
                   PRIu64 "</dd><dt>ID</dt><dd><code>%s</code></dd><dt>Von</dt><dd>",
                   kh__web_type_label (item->type), item->seq, id);
    kh_web_ags (req, item->owner);
    kh_web_puts (req, "</dd><dt>Veröffentlicht</dt><dd>");
    kh_web_time (req, item->ts);
    kh_web_printf (req, "</dd><dt>Status</dt><dd class=\"status\">%s%s (seit ",
                   kh__web_stage_label (item->status), item->expired ? ", abgelaufen" : "");
    kh_web_time (req, item->status_ts);
    kh_web_puts (req, ")</dd><dt>Nächste Stufen</dt><dd>");
    kh__web_next_stages (req, item->status);
    kh_web_printf (req, "</dd><dt>Antworten</dt><dd>%" PRIu32 " beteiligt, %" PRIu32
                   " interessiert, %" PRIu32 " abgesagt, %" PRIu32 " ausgestiegen</dd>"
                   "<dt>Letzte Aktivität</dt><dd>", item->joined, item->interested,
                   item->declined, item->left);
    kh_web_time (req, item->last_ts);
    kh_web_puts (req, "</dd>");
    s_item_fields (req, item);
    kh_web_puts (req, "</dl>\n");
}

/* Writes the item's participants as a table. */
static void
s_participants (kh_web_req_t *req, const kh_item_t *item)
{
    kh_web_puts (req, "<h2>Beteiligte</h2>\n");
    if (item->participant_count == 0) {
        kh_web_puts (req, "<p>Noch keine Antworten.</p>\n");
        return;
    }
    kh_web_puts (req, "<table class=\"participants\"><thead><tr><th>Wer</th><th>Stand</th>"
                 "<th>Seit</th></tr></thead><tbody>");
    for (size_t i = 0; i < item->participant_count; i++) {
        const kh_participant_t *p = &item->participants [i];
        kh_web_puts (req, "<tr><td>");
        kh_web_ags (req, p->ags);
        kh_web_printf (req, "</td><td>%s</td><td>", kh__web_state_label (p->state));
        kh_web_time (req, p->since);
        kh_web_puts (req, "</td></tr>");
    }
    kh_web_puts (req, "</tbody></table>\n");
}

/* Writes one message of the timeline. */
static void
s_timeline_entry (kh_web_req_t *req, const kh_record_t *rec)
{
    msgpack_unpacked u;
    kh_record_pieces_t pieces;
    bool ok = kh_record_unpack (rec, &u, &pieces) == 0;
    char from [KH_AGS_MAX + 1] = "?";
    if (ok && pieces.from->via.str.size <= KH_AGS_MAX)
        snprintf (from, sizeof from, "%.*s", (int) pieces.from->via.str.size,
                  pieces.from->via.str.ptr);
    kh_web_printf (req, "<li data-seq=\"%" PRIu64 "\">", rec->info.seq);
    if (ok)
        kh_web_time (req, pieces.ts);
    msgpack_unpacked_destroy (&u);
    kh_web_printf (req, " <span class=\"seq\">#%" PRIu64 "</span> <span class=\"who\">",
                   rec->info.seq);
    kh_web_ags (req, from);
    kh_web_puts (req, "</span> <span class=\"what\">");
    kh__web_event (req, rec);
    kh_web_puts (req, "</span></li>\n");
}

/* Writes the item's history: its messages and those about it, oldest first,
   in an element the live script appends to; only those after seq after (0: all),
   which is what the live script fetches. */
static int
s_timeline (kh_web_req_t *req, const kh_item_t *item, uint64_t after)
{
    char id [KH_ID_STR_SIZE];
    kh_id_format (item->id, id);
    kh_web_printf (req, "<h2>Verlauf</h2>\n<ol class=\"timeline\" id=\"timeline\" "
                   "data-item=\"%s\" data-seq=\"%" PRIu64 "\">\n", id, item->seq);
    kh_query_t q = { .req = 1, .has_ref = true,
                     .since_seq = after >= item->seq ? after + 1 : item->seq };
    memcpy (q.ref, item->id, KH_ID_SIZE);
    size_t shown = 0;
    for (bool more = true; more && shown < S_TIMELINE_MAX; ) {
        kh__web_records_t page;
        if (kh__web_read_records (req, &q, &page)) {
            kh__web_records_release (&page);
            return -1;
        }
        for (uint32_t i = 0; i < page.rows.count; i++)
            s_timeline_entry (req, &page.rows.rows [i]);
        shown += page.rows.count;
        more = page.rows.more && page.rows.count > 0;
        q.since_seq = page.rows.next;
        kh__web_records_release (&page);
    }
    return kh_web_puts (req, "</ol>\n");
}

/* GET /item/SEQ[?after=N]: one item, its participants and its timeline (with
   after, only the timeline's entries after seq N: static/live.js asks so for what
   is new, instead of the whole history again for every message). */
static int
s_item (kh_web_req_t *req)
{
    uint64_t after;
    if (kh__web_number (req, "after", UINT64_MAX, &after))
        return 0;                       /* answered 400 */
    kh__web_items_t items;
    if (s_find_item (req, kh_web_req_rest (req), &items)) {
        kh__web_items_release (&items);
        return kh_web_error (req, 404, "Diesen Eintrag gibt es nicht.");
    }
    const kh_item_t *item = &items.rows.rows [0];
    char title [KH_TITLE_BYTES + 1] = "";
    kh_itemview_field (item, "title", title, sizeof title);
    kh_web_page_begin (req, title, NULL);
    s_item_facts (req, item);
    const kh_web_user_t *user = kh_web_req_user (req);
    if (user && (user->role == KH_WEB_ROLE_MUNICIPALITY || user->role == KH_WEB_ROLE_KREIS)) {
        char id [KH_ID_STR_SIZE];       /* those who act: answer, or change its stage */
        kh_id_format (item->id, id);
        kh_web_printf (req, "<p class=\"act\"><a href=\"/act?item=%s\">Antworten oder "
                       "Status ändern</a></p>\n", id);
    }
    s_participants (req, item);
    int rc = s_timeline (req, item, after);
    kh__web_items_release (&items);
    if (rc)
        return kh_web_error (req, 503, "Der Speicher kann gerade nicht gelesen werden.");
    return kh_web_page_end (req, true);
}

/* ---------------------------------------------------------------- routes */

const kh_web_route_t *
kh_web_pages_routes (void)
{
    static const kh_web_route_t routes [] = {
        { KH_WEB_GET, "/",          s_catalogue,       true,  false, true },
        { KH_WEB_GET, "/item/",     s_item,            true,  false, true },
        { KH_WEB_GET, "/log",       kh__web_log,       true,  true,  false },
        { KH_WEB_GET, "/log.csv",   kh__web_log_csv,   true,  true,  false },
        { KH_WEB_GET, "/log.jsonl", kh__web_log_jsonl, true,  true,  false },
        { KH_WEB_GET, "/stats",     kh__web_stats,     true,  false, true },
        { KH_WEB_GET, "/audit",     kh__web_audit,     true,  true,  false },
        { KH_WEB_GET, "/static/",   kh__web_static,    false, false, true },
        { 0, NULL, NULL, false, false, false }
    };
    return routes;
}
