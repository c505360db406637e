/*  kh_web_forms.c - signing in and out, and the forms that publish for the signed-in
    user's municipality through the broker, with its certificate (kh_web_forms.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kh_json.h"                    /* kh_json_set_text */
#include "kh_opts.h"                    /* KH_STR */
#include "kh_web_forms.h"
#include "kh_web_html.h"
#include "kh_web_pages.h"               /* the German words */

#define S_TIMEOUT       3000            /* ms for the hub's answer */
#define S_RETRIES       1               /* resends (same id) without an answer */
#define S_NEXT_MAX      512             /* bytes of a path to go back to after sign-in */

struct _kh_web_forms_t {
    kh_web_gate_t *gate;
};

/* The item fields the form for a new item offers (every item type has them). */
static const char *const s_fields [] = {
    "title", "description", "hf", "topic", "keywords", "contact", "valid_until"
};

/* An answer to an item (interest's action) and its German label. */
static const char *const s_actions [][2] = {
    { "interested", "Interesse bekunden" }, { "join", "Teilnehmen" },
    { "decline", "Absagen" }, { "leave", "Nicht mehr teilnehmen" }
};

static const char *const s_stages [] = {
    "discussion", "decided", "pilot", "rollout", "done", "withdrawn"
};

/* ================================================================ pieces */

/* Answers 303 to location (this server's path) with a line of hypertext to it, as
   a 303 should carry. Returns 0, or -1. */
static int
s_redirect (kh_web_req_t *req, const char *location)
{
    kh_web_puts (req, "<!DOCTYPE html>\n<p><a href=\"");
    kh_web_html (kh_web_req_out (req), location);
    kh_web_puts (req, "\">Weiter</a></p>\n");
    return kh_web_redirect (req, location);
}

/* Writes the hidden CSRF field of token. */
static void
s_token (kh_web_req_t *req, const char *token)
{
    kh_web_puts (req, "<input type=\"hidden\" name=\"csrf\" value=\"");
    kh_web_html (kh_web_req_out (req), token);
    kh_web_puts (req, "\">");
}

/* True if the form's CSRF token is the session's; else answers 403. */
static bool
s_csrf_ok (kh_web_req_t *req)
{
    const kh_web_user_t *user = kh_web_req_user (req);
    if (user && kh_web_token_ok (user->csrf, kh_web_req_form (req, "csrf")))
        return true;
    kh_web_error (req, 403, "Das Formular ist ungültig oder abgelaufen (Sicherheitsmerkmal "
                  "fehlt). Bitte laden Sie die Seite neu; nichts wurde gesendet.");
    return false;
}

/* The path to go back to after signing in: next if it is one of this server's
   ("/..." but not "//..."), else "/". */
static const char *
s_next (const char *next)
{
    bool ours = next && next [0] == '/' && next [1] != '/' && next [1] != '\\'
             && strlen (next) < S_NEXT_MAX && !strpbrk (next, "\r\n");
    return ours ? next : "/";
}

/* Writes a paragraph of text (escaped) with class. */
static void
s_para (kh_web_req_t *req, const char *class_name, const char *text)
{
    kh_web_printf (req, "<p class=\"%s\">", class_name);
    kh_web_html (kh_web_req_out (req), text);
    kh_web_puts (req, "</p>\n");
}

/* ================================================================ the hook */

/* kh_web_auth_t.identify: the session the request's cookie names. */
static int
s_identify (void *arg, kh_web_req_t *req, kh_web_user_t *user)
{
    kh_web_forms_t *self = (kh_web_forms_t *) arg;
    kh_web_who_t who;
    if (kh_web_gate_session (self->gate, kh_web_req_header (req, "Cookie"), &who))
        return -1;
    memset (user, 0, sizeof *user);
    snprintf (user->name, sizeof user->name, "%s", who.name);
    snprintf (user->ags, sizeof user->ags, "%s", who.ags);
    snprintf (user->csrf, sizeof user->csrf, "%s", who.csrf);
    user->role = who.role == KH_ROLE_ADMIN ? KH_WEB_ROLE_ADMIN
               : who.role == KH_ROLE_KREIS ? KH_WEB_ROLE_KREIS : KH_WEB_ROLE_MUNICIPALITY;
    return 0;
}

/* kh_web_auth_t.refuse: a page asked for without a session goes to the sign-in page
   (and back after it); a form posted without one is refused. */
static int
s_refuse (void *arg, kh_web_req_t *req)
{
    if (strcmp (kh_web_req_method (req), "POST") == 0)
        return kh_web_error (req, 403, "Ihre Sitzung ist abgelaufen. Bitte melden Sie "
                             "sich erneut an; nichts wurde gesendet.");
    kh_web_buf_t to = { NULL };
    kh_web_buf_printf (&to, "/login?next=");
    kh_web_url (&to, kh_web_req_path (req));
    int rc = to.failed ? -1 : s_redirect (req, to.data);
    kh_web_buf_reset (&to);
    return rc;
}

/* ================================================================ sign-in */

/* Writes the sign-in page: message (NULL: none), the form with the pre-session
   token (setting its cookie if it is new), name refilled. */
static int
s_login_page (kh_web_forms_t *self, kh_web_req_t *req, const char *message, const char *name)
{
    char value [KH_WEB_TOKEN_SIZE], token [KH_WEB_TOKEN_SIZE], cookie [KH_WEB_COOKIE_MAX];
    bool fresh = false;
    if (kh_web_gate_pre (self->gate, kh_web_req_header (req, "Cookie"), value, token, &fresh))
        return -1;
    if (fresh && (kh_web_gate_cookie (self->gate, KH_WEB_PRE_COOKIE, value, -1, cookie,
                                      sizeof cookie)
                  || kh_web_header (req, "Set-Cookie", cookie)))
        return -1;
    kh_web_buf_t *out = kh_web_req_out (req);
    kh_web_page_begin (req, "Anmelden", "/login");
    if (message)
        s_para (req, "error", message);
    kh_web_puts (req, "<form method=\"post\" action=\"/login\" class=\"login\">");
    s_token (req, token);
    kh_web_puts (req, "<input type=\"hidden\" name=\"next\" value=\"");
    kh_web_html (out, s_next (kh_web_req_query (req, "next") ? kh_web_req_query (req, "next")
                                                            : kh_web_req_form (req, "next")));
    kh_web_puts (req, "\"><label>Name <input name=\"name\" autocomplete=\"username\" "
                 "required maxlength=\"" KH_STR (KH_WEB_NAME_MAX) "\" value=\"");
    kh_web_html (out, name);
    kh_web_puts (req, "\"></label> <label>Passwort <input type=\"password\" name=\"password\" "
                 "autocomplete=\"current-password\" required></label> "
                 "<button>Anmelden</button></form>\n");
    return kh_web_page_end (req, false);
}

/* GET /login. */
static int
s_login_get (kh_web_req_t *req)
{
    return s_login_page ((kh_web_forms_t *) kh_web_req_arg (req), req, NULL, NULL);
}

/* Starts the session who: its cookie set, the pre-session's deleted, back to next. */
static int
s_signed_in (kh_web_forms_t *self, kh_web_req_t *req, const kh_web_who_t *who)
{
    char session [KH_WEB_COOKIE_MAX], pre [KH_WEB_COOKIE_MAX];
    if (kh_web_gate_cookie (self->gate, KH_WEB_SESSION_COOKIE, who->sid, -1, session,
                            sizeof session)
    ||  kh_web_gate_cookie (self->gate, KH_WEB_PRE_COOKIE, "", 0, pre, sizeof pre)
    ||  kh_web_header (req, "Set-Cookie", session) || kh_web_header (req, "Set-Cookie", pre))
        return -1;
    return s_redirect (req, s_next (kh_web_req_form (req, "next")));
}

/* The address a sign-in is counted against: the peer's, but behind a reverse proxy
   on this machine (the peer is loopback) the last address of X-Forwarded-For, the
   one the proxy added, so that one browser's failures do not lock everyone out.
   Writes it into out (cap bytes); returns out. */
static const char *
s_client_ip (kh_web_req_t *req, char *out, size_t cap)
{
    const char *peer = kh_web_req_ip (req);
    const char *forwarded = kh_web_req_header (req, "X-Forwarded-For");
    bool loopback = strncmp (peer, "127.", 4) == 0 || streq (peer, "::1")
                 || strncmp (peer, "::ffff:127.", 11) == 0;
    const char *last = forwarded ? strrchr (forwarded, ',') : NULL;
    last = last ? last + 1 : forwarded;
    while (last && (*last == ' ' || *last == '\t'))
        last++;
    if (loopback && last && *last)
        snprintf (out, cap, "%.*s", (int) strcspn (last, " \t"), last);
    else
        snprintf (out, cap, "%s", peer);
    return out;
}

/* POST /login: the pre-session token first, then name and password. A refusal
   never says which of them was wrong. */
static int
s_login_post (kh_web_req_t *req)
{
    kh_web_forms_t *self = (kh_web_forms_t *) kh_web_req_arg (req);
    const char *name = kh_web_req_form (req, "name");
    if (!kh_web_gate_pre_ok (self->gate, kh_web_req_header (req, "Cookie"),
                             kh_web_req_form (req, "csrf")))
        return kh_web_error (req, 403, "Das Anmeldeformular ist ungültig oder abgelaufen. "
                             "Bitte laden Sie die Anmeldeseite neu.");
    kh_web_who_t who;
    int retry = 0;
    kh_problem_t why = { 0 };
    char ip [64];
    kh_web_login_t verdict = kh_web_gate_login (self->gate, s_client_ip (req, ip, sizeof ip),
                                                name, kh_web_req_form (req, "password"), &who,
                                                &retry, &why);
    char message [160];
    switch (verdict) {
        case KH_WEB_LOGIN_OK:
            return s_signed_in (self, req, &who);
        case KH_WEB_LOGIN_LIMITED:
            snprintf (message, sizeof message, "Zu viele Fehlversuche. Bitte versuchen Sie "
                      "es in %d Sekunden erneut.", retry);
            kh_web_status (req, 429);
            return s_login_page (self, req, message, name);
        case KH_WEB_LOGIN_UNAVAILABLE:
            fprintf (stderr, "kreishub-web: sign-in: %s\n", why.reason);
            return kh_web_error (req, 503, "Die Anmeldung ist gerade nicht möglich. Bitte "
                                 "wenden Sie sich an die Administration.");
        default:
            kh_web_status (req, 401);
            return s_login_page (self, req, "Name oder Passwort ist falsch.", name);
    }
}

/* GET /logout: asks to confirm (signing out is a POST with the token). */
static int
s_logout_get (kh_web_req_t *req)
{
    kh_web_page_begin (req, "Abmelden", NULL);
    kh_web_puts (req, "<form method=\"post\" action=\"/logout\">");
    s_token (req, kh_web_req_user (req)->csrf);
    kh_web_puts (req, "<button>Abmelden</button></form>\n");
    return kh_web_page_end (req, false);
}

/* POST /logout: ends the session and deletes its cookie. */
static int
s_logout_post (kh_web_req_t *req)
{
    kh_web_forms_t *self = (kh_web_forms_t *) kh_web_req_arg (req);
    char cookie [KH_WEB_COOKIE_MAX];
    if (!s_csrf_ok (req))
        return 0;
    kh_web_gate_logout (self->gate, kh_web_req_cookie (req, KH_WEB_SESSION_COOKIE));
    if (kh_web_gate_cookie (self->gate, KH_WEB_SESSION_COOKIE, "", 0, cookie, sizeof cookie)
    ||  kh_web_header (req, "Set-Cookie", cookie))
        return -1;
    return s_redirect (req, "/");
}

/* ================================================================ the verdict */

/* What a refusal (the hub's code, or a local one) means, and its HTTP status. */
static const char *
s_refusal (int code, unsigned *status)
{
    static const struct { int code; unsigned status; const char *text; } table [] = {
        { KH_ENOITEM, 404, "Diesen Eintrag gibt es nicht." },
        { KH_ENOTOWNER, 403, "Das darf nur, wer den Eintrag veröffentlicht hat, oder "
                             "dessen Kreis." },
        { KH_ETRANSITION, 409, "Dieser Statuswechsel ist nicht erlaubt: ein Eintrag geht "
                               "nur vorwärts, und „erledigt“ und „zurückgezogen“ sind "
                               "endgültig." },
        { KH_ECLOSED, 409, "Der Eintrag ist zurückgezogen oder abgelaufen; er nimmt keine "
                           "Antworten mehr an." },
        { KH_ESENDER, 403, "Der Hub nimmt diesen Absender für das Zertifikat nicht an." },
        { KH_EFORBIDDEN, 403, "Der Hub lässt das für das Zertifikat Ihrer Gemeinde nicht zu." },
        { KH_EFULL, 503, "Der Speicher des Hubs ist voll; nichts wurde gespeichert." },
        { KH_EUNAVAILABLE, 503, "Der Hub kann gerade nicht speichern. Bitte versuchen Sie "
                                "es gleich noch einmal." },
        { KH_ESTORE, 503, "Der Hub kann gerade nicht speichern. Bitte versuchen Sie es "
                          "gleich noch einmal." },
        { KH_EBUSY, 503, "Der Hub ist ausgelastet. Bitte versuchen Sie es gleich noch einmal." },
        { KH_ETIMEOUT, 504, "Der Hub hat nicht rechtzeitig geantwortet. Die Nachricht ist "
                            "vielleicht trotzdem gespeichert: bitte sehen Sie im Verlauf "
                            "nach, bevor Sie es erneut versuchen." },
        { KH_EUNREACHABLE, 504, "Der Hub ist nicht erreichbar." },
    };
    for (size_t i = 0; i < sizeof table / sizeof table [0]; i++)
        if (table [i].code == code) {
            *status = table [i].status;
            return table [i].text;
        }
    *status = code && code < KH_ECOMMAND ? 400 : 502;
    return code && code < KH_ECOMMAND ? "Eine Angabe ist ungültig." : "Der Hub hat abgelehnt.";
}

/* Writes the page that tells the outcome: stored as seq (rc 0), else refused with
   code (the hub's name and reason under it, escaped); back links to back. */
static int
s_verdict (kh_web_req_t *req, int rc, const char *name, const char *reason, uint64_t seq,
           bool dup, const char *back)
{
    unsigned status = 200;
    const char *text = rc ? s_refusal (rc, &status) : NULL;
    kh_web_status (req, status);
    kh_web_page_begin (req, rc ? "Nicht gespeichert" : "Gespeichert", NULL);
    if (rc == 0)
        kh_web_printf (req, "<p class=\"ok\">Der Hub hat die Nachricht gespeichert "
                       "(#%" PRIu64 "%s).</p>\n", seq, dup ? ", schon zuvor" : "");
    else {
        s_para (req, "error", text);
        kh_web_puts (req, "<p class=\"hub\">");
        kh_web_html (kh_web_req_out (req), name);
        kh_web_puts (req, ": ");
        kh_web_html (kh_web_req_out (req), reason);
        kh_web_puts (req, "</p>\n");
    }
    kh_web_puts (req, "<p><a href=\"");
    kh_web_html (kh_web_req_out (req), back);
    kh_web_puts (req, rc == 0 ? "\">Zum Eintrag</a></p>\n" : "\">Zurück</a></p>\n");
    return kh_web_page_end (req, false);
}

/* Loads the keys of the session's AGS for a secure hub into *keys (NULL for a hub
   in plain mode). Returns 0, or answers 403 and returns -1. */
static int
s_keys (kh_web_forms_t *self, kh_web_req_t *req, kh_keys_t **keys)
{
    const kh_web_config_t *config = kh_web_config (kh_web_req_web (req));
    const char *ags = kh_web_req_user (req)->ags;
    char path [PATH_MAX], message [PATH_MAX + 256];
    kh_problem_t why;
    *keys = NULL;
    if (!config->cert)
        return 0;
    snprintf (path, sizeof path, "%s/%s.cert_secret", config->certs ? config->certs : ".",
              ags);
    *keys = kh_keys_load (path, config->server_cert, &why);
    if (*keys && streq (kh_keys_ags (*keys), ags))
        return 0;
    fprintf (stderr, "kreishub-web: %s: %s\n", path, *keys ? "not this AGS'" : why.reason);
    snprintf (message, sizeof message, "Für Ihre AGS %s hat dieser Hub kein passendes "
              "Zertifikat (%s.cert_secret). Bitte wenden Sie sich an die Administration; "
              "nichts wurde gesendet.", ags, ags);
    kh_keys_destroy (keys);
    kh_web_error (req, 403, message);
    return -1;
}

/* Publishes what builder holds (encoded) as the session's AGS and tells the
   outcome, with a link to done or, if refused, to back. Returns 0, or -1 as a
   handler does. */
static int
s_publish (kh_web_forms_t *self, kh_web_req_t *req, const kh_builder_t *builder,
           const char *done, const char *back)
{
    kh_keys_t *keys;
    if (s_keys (self, req, &keys))
        return 0;
    const char *endpoint = kh_web_config (kh_web_req_web (req))->client_ep;
    kh_client_t *client = keys ? kh_client_new_secure (endpoint, keys)
                               : kh_client_new (endpoint);
    kh_keys_destroy (&keys);
    size_t size;
    const void *envelope = kh_builder_data (builder, &size);
    uint64_t seq = 0;
    bool dup = false;
    kh_error_reply_t err = { 0 };
    int rc = client ? kh_client_publish (client, envelope, size, S_TIMEOUT, S_RETRIES, &seq,
                                         &dup, &err)
                    : KH_EUNREACHABLE;
    kh_client_destroy (&client);
    return s_verdict (req, rc, err.code ? err.name : kh_errname (rc),
                      err.code ? err.reason : kh_strerror (rc), seq, dup, rc ? back : done);
}

/* Encodes builder as a new message of the session's AGS with a new id (into id),
   unless setting its fields failed already (set_rc, set_why); answers 400 with the
   reason if it is not valid, linking back. Returns 0, or -1 (answered). */
static int
s_encode (kh_web_req_t *req, kh_builder_t *builder, int set_rc, const kh_problem_t *set_why,
          const char *back, uint8_t id [KH_ID_SIZE])
{
    kh_problem_t why = *set_why;
    kh_id_new (id);
    if (set_rc == 0
    &&  kh_builder_encode (builder, id, kh_web_req_user (req)->ags, kh_now_ms (), &why) == 0)
        return 0;
    int code = why.code ? why.code : KH_EVALUE;
    s_verdict (req, code, kh_errname (code), why.reason, 0, false, back);
    return -1;
}

/* True if the session may publish (not an admin's); else answers 403. */
static bool
s_may_act (kh_web_req_t *req)
{
    if (kh_web_req_user (req)->role != KH_WEB_ROLE_ADMIN)
        return true;
    kh_web_error (req, 403, "Administratoren veröffentlichen nichts. Bitte melden Sie sich "
                  "mit dem Konto einer Gemeinde oder des Kreises an.");
    return false;
}

/* ================================================================ a new item */

/* The item types the session may publish: the Kreis announcements too. */
static bool
s_item_type_ok (kh_web_req_t *req, const char *type)
{
    return type && (streq (type, "offer") || streq (type, "idea") || streq (type, "request")
                    || (streq (type, "announcement")
                        && kh_web_req_user (req)->role == KH_WEB_ROLE_KREIS));
}

/* Writes one labelled input of the new item's form. */
static void
s_input (kh_web_req_t *req, const char *name, const char *label, const char *attrs)
{
    kh_web_printf (req, "<label>%s <input name=\"%s\" %s></label>\n", label, name, attrs);
}

/* GET /new: the form for a new offer, idea or request. */
static int
s_new_get (kh_web_req_t *req)
{
    if (!s_may_act (req))
        return 0;
    static const char *const types [] = { "offer", "idea", "request", "announcement" };
    kh_web_page_begin (req, "Neuer Eintrag", "/new");
    kh_web_puts (req, "<form method=\"post\" action=\"/new\" class=\"item-form\">");
    s_token (req, kh_web_req_user (req)->csrf);
    kh_web_puts (req, "<label>Art <select name=\"type\">");
    for (size_t i = 0; i < 4; i++)
        if (s_item_type_ok (req, types [i]))
            kh_web_printf (req, "<option value=\"%s\">%s</option>", types [i],
                           kh__web_type_label (types [i]));
    kh_web_puts (req, "</select></label>\n");
    s_input (req, "title", "Titel", "required maxlength=\"200\"");
    kh_web_puts (req, "<label>Beschreibung <textarea name=\"description\" maxlength=\"8000\" "
                 "rows=\"6\"></textarea></label>\n<label>Handlungsfeld <select name=\"hf\">"
                 "<option value=\"\">–</option>");
    for (int hf = 1; hf <= 5; hf++)
        kh_web_printf (req, "<option value=\"%d\">%d</option>", hf, hf);
    kh_web_puts (req, "</select></label>\n");
    s_input (req, "topic", "Thema", "maxlength=\"100\"");
    s_input (req, "keywords", "Schlagworte (mit Kommas getrennt)", "maxlength=\"1000\"");
    s_input (req, "contact", "Ansprechpartner", "maxlength=\"200\"");
    s_input (req, "valid_until", "Gültig bis", "type=\"date\"");
    kh_web_puts (req, "<p>Absender: ");
    kh_web_ags (req, kh_web_req_user (req)->ags);
    kh_web_puts (req, "</p><button>Veröffentlichen</button></form>\n");
    return kh_web_page_end (req, false);
}

/* POST /new: publishes the item as the session's AGS (never a sender the form
   names). */
static int
s_new_post (kh_web_req_t *req)
{
    kh_web_forms_t *self = (kh_web_forms_t *) kh_web_req_arg (req);
    if (!s_csrf_ok (req) || !s_may_act (req))
        return 0;
    const char *type = kh_web_req_form (req, "type");
    if (!s_item_type_ok (req, type))
        return kh_web_error (req, 400, "Diese Art von Eintrag gibt es hier nicht.");
    kh_builder_t *builder = kh_builder_new (type);
    if (!builder)
        return -1;
    kh_problem_t why = { 0 };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof s_fields / sizeof s_fields [0]; i++) {
        const char *value = kh_web_req_form (req, s_fields [i]);
        if (value && *value)
            rc = kh_json_set_text (builder, s_fields [i], value, &why);
    }
    uint8_t id [KH_ID_SIZE];
    char done [KH_ID_STR_SIZE + 8] = "/item/";
    if (s_encode (req, builder, rc, &why, "/new", id) == 0) {
        kh_id_format (id, done + 6);    /* the item's id is its first message's */
        rc = s_publish (self, req, builder, done, "/new");
    }
    else
        rc = 0;
    kh_builder_destroy (&builder);
    return rc;
}

/* ================================================================ acting on an item */

/* Writes an act form of kind (respond, status): its choices (value, label) and a
   note. */
static void
s_act_form (kh_web_req_t *req, const char *item, const char *kind, const char *heading,
            const char *const values [], const char *const labels [], size_t count)
{
    kh_web_printf (req, "<h2>%s</h2><form method=\"post\" action=\"/act\">", heading);
    s_token (req, kh_web_req_user (req)->csrf);
    kh_web_printf (req, "<input type=\"hidden\" name=\"kind\" value=\"%s\">"
                   "<input type=\"hidden\" name=\"item\" value=\"%s\"><select name=\"value\">",
                   kind, item);
    for (size_t i = 0; i < count; i++)
        kh_web_printf (req, "<option value=\"%s\">%s</option>", values [i], labels [i]);
    kh_web_puts (req, "</select> <label>Notiz <input name=\"text\" maxlength=\"500\"></label> "
                 "<button>Senden</button></form>\n");
}

/* GET /act?item=UUID: respond to the item, or change its status. */
static int
s_act_get (kh_web_req_t *req)
{
    if (!s_may_act (req))
        return 0;
    uint8_t id [KH_ID_SIZE];
    char item [KH_ID_STR_SIZE];
    const char *text = kh_web_req_query (req, "item");
    if (!text || kh_id_parse (text, id))
        return kh_web_error (req, 400, "Welcher Eintrag? (eine UUID wird erwartet)");
    kh_id_format (id, item);            /* canonical: nothing of the query echoed */
    const char *values [6], *labels [6];
    kh_web_page_begin (req, "Auf einen Eintrag reagieren", NULL);
    kh_web_printf (req, "<p><a href=\"/item/%s\">Zum Eintrag</a></p>\n", item);
    for (size_t i = 0; i < 4; i++) {
        values [i] = s_actions [i][0];
        labels [i] = s_actions [i][1];
    }
    s_act_form (req, item, "respond", "Antworten", values, labels, 4);
    for (size_t i = 0; i < 6; i++) {
        values [i] = s_stages [i];
        labels [i] = kh__web_stage_label (s_stages [i]);
    }
    s_act_form (req, item, "status", "Status ändern (nur eigene Einträge)", values, labels, 6);
    return kh_web_page_end (req, false);
}

/* The message type and field of an act form's kind, and whether value is one of
   its choices. Returns the type, or NULL for a kind or value that is none. */
static const char *
s_act_kind (const char *kind, const char *value, const char **field)
{
    bool respond = kind && streq (kind, "respond"), status = kind && streq (kind, "status");
    bool known = false;
    for (size_t i = 0; value && respond && i < 4; i++)
        known = known || streq (value, s_actions [i][0]);
    for (size_t i = 0; value && status && i < 6; i++)
        known = known || streq (value, s_stages [i]);
    *field = respond ? "action" : "status";
    return !known ? NULL : respond ? "interest" : "status";
}

/* POST /act: an interest in the item, or a status of it, as the session's AGS. */
static int
s_act_post (kh_web_req_t *req)
{
    kh_web_forms_t *self = (kh_web_forms_t *) kh_web_req_arg (req);
    if (!s_csrf_ok (req) || !s_may_act (req))
        return 0;
    uint8_t id [KH_ID_SIZE];
    char item [KH_ID_STR_SIZE], back [KH_ID_STR_SIZE + 16];
    const char *field, *value = kh_web_req_form (req, "value");
    const char *text = kh_web_req_form (req, "text"), *given = kh_web_req_form (req, "item");
    const char *type = s_act_kind (kh_web_req_form (req, "kind"), value, &field);
    if (!given || kh_id_parse (given, id) || !type)
        return kh_web_error (req, 400, "Das Formular ist unvollständig.");
    kh_id_format (id, item);
    snprintf (back, sizeof back, "/item/%s", item);
    kh_builder_t *builder = kh_builder_new (type);
    if (!builder)
        return -1;
    kh_problem_t why = { 0 };
    int rc = kh_builder_set (builder, "ref", item, &why)
          || kh_builder_set (builder, field, value, &why)
          || (text && *text && kh_json_set_text (builder, "text", text, &why)) ? -1 : 0;
    uint8_t msg_id [KH_ID_SIZE];
    if (s_encode (req, builder, rc, &why, back, msg_id) == 0)
        rc = s_publish (self, req, builder, back, back);
    else
        rc = 0;
    kh_builder_destroy (&builder);
    return rc;
}

/* ================================================================ the class */

static const kh_web_route_t s_routes [] = {
    { KH_WEB_GET, "/login", s_login_get, false, false, false },
    { KH_WEB_POST, "/login", s_login_post, false, false, false },
    { KH_WEB_GET, "/logout", s_logout_get, true, false, false },
    { KH_WEB_POST, "/logout", s_logout_post, true, false, false },
    { KH_WEB_GET, "/new", s_new_get, true, false, false },
    { KH_WEB_POST, "/new", s_new_post, true, false, false },
    { KH_WEB_GET, "/act", s_act_get, true, false, false },
    { KH_WEB_POST, "/act", s_act_post, true, false, false },
    { 0, NULL, NULL, false, false, false }
};

kh_web_forms_t *
kh_web_forms_new (kh_web_gate_t *gate)
{
    assert (gate);
    kh_web_forms_t *self = (kh_web_forms_t *) calloc (1, sizeof *self);
    if (self)
        self->gate = gate;
    return self;
}

void
kh_web_forms_destroy (kh_web_forms_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int
kh_web_forms_attach (kh_web_forms_t *self, kh_web_t *web)
{
    assert (self && web);
    kh_web_auth_t hook = { .self = self, .identify = s_identify, .refuse = s_refuse };
    kh_web_set_auth (web, &hook);
    return kh_web_add_routes (web, s_routes, self);
}
