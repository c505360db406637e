/*  kh_web_html.c - escaping, links, names, times and the page frame (see kh_web_html.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "kh_web_html.h"
#include "kh_when.h"

int
kh_web_html_n (kh_web_buf_t *buf, const char *text, size_t len)
{
    size_t from = 0;
    for (size_t i = 0; i < len; i++) {
        const char *entity = NULL;
        switch (text [i]) {
            case '&':  entity = "&amp;"; break;
            case '<':  entity = "&lt;"; break;
            case '>':  entity = "&gt;"; break;
            case '"':  entity = "&quot;"; break;
            case '\'': entity = "&#39;"; break;
            default:   continue;
        }
        if (kh_web_buf_add (buf, text + from, i - from)
        ||  kh_web_buf_add (buf, entity, strlen (entity)))
            return -1;
        from = i + 1;
    }
    return kh_web_buf_add (buf, text + from, len - from);
}

int
kh_web_html (kh_web_buf_t *buf, const char *text)
{
    return text ? kh_web_html_n (buf, text, strlen (text)) : 0;
}

int
kh_web_url (kh_web_buf_t *buf, const char *text)
{
    static const char hex [] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *) text; p && *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')
                  || (*p >= '0' && *p <= '9') || strchr ("-_.~", *p);
        char esc [3] = { '%', hex [*p >> 4], hex [*p & 15] };
        if (plain ? kh_web_buf_add (buf, p, 1) : kh_web_buf_add (buf, esc, 3))
            return -1;
    }
    return buf->failed ? -1 : 0;
}

/* The navigation: path, label, admins only. */
static const struct {
    const char *path;
    const char *label;
    bool        admin;
} s_nav [] = {
    { "/",      "Katalog",     false },
    { "/stats", "Statistik",   false },
    { "/log",   "Protokoll",   true },
    { "/audit", "Prüfprotokoll", true },
};

int
kh_web_page_begin (kh_web_req_t *req, const char *title, const char *active)
{
    kh_web_buf_t *out = kh_web_req_out (req);
    const kh_web_user_t *user = kh_web_req_user (req);
    kh_web_puts (req, "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
                 "<title>");
    kh_web_html (out, title);
    kh_web_puts (req, " – kreishub</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
                 "<link rel=\"icon\" href=\"data:,\">"     /* no request for /favicon.ico */
                 "</head><body><header><a class=\"brand\" href=\"/\">kreishub</a><nav>");
    for (size_t i = 0; i < sizeof s_nav / sizeof s_nav [0]; i++) {
        if (s_nav [i].admin && (!user || user->role != KH_WEB_ROLE_ADMIN))
            continue;
        kh_web_printf (req, "<a href=\"%s\"%s>%s</a>", s_nav [i].path,
                       active && strcmp (active, s_nav [i].path) == 0
                       ? " aria-current=\"page\"" : "", s_nav [i].label);
    }
    if (user && (user->role == KH_WEB_ROLE_MUNICIPALITY || user->role == KH_WEB_ROLE_KREIS))
        kh_web_puts (req, "<a href=\"/new\">Neuer Eintrag</a>");
    kh_web_puts (req, "</nav><div class=\"who\">");
    if (user && user->name [0]) {
        kh_web_puts (req, "Angemeldet: ");
        kh_web_html (out, user->name);
        if (user->ags [0]) {
            kh_web_puts (req, " (");
            kh_web_ags (req, user->ags);
            kh_web_puts (req, ")");
        }
        if (user->csrf [0]) {           /* signing out changes state: a POST, with the token */
            kh_web_puts (req, " <form method=\"post\" action=\"/logout\" class=\"inline\">"
                         "<input type=\"hidden\" name=\"csrf\" value=\"");
            kh_web_html (out, user->csrf);
            kh_web_puts (req, "\"><button type=\"submit\">Abmelden</button></form>");
        }
    }
    else
        kh_web_puts (req, "<a href=\"/login\">Anmelden</a>");
    kh_web_puts (req, "</div></header><main>\n<h1>");
    kh_web_html (out, title);
    return kh_web_puts (req, "</h1>\n");
}

int
kh_web_page_end (kh_web_req_t *req, bool live)
{
    kh_web_puts (req, "</main><footer>kreishub – Zeiten in Europe/Berlin</footer>");
    if (live)
        kh_web_puts (req, "<script src=\"/static/live.js\" defer></script>");
    return kh_web_puts (req, "</body></html>\n");
}

int
kh_web_ags (kh_web_req_t *req, const char *ags)
{
    kh_web_buf_t *out = kh_web_req_out (req);
    const kh_members_t *members = kh_web_config (kh_web_req_web (req))->members;
    const char *name = members && ags ? kh_members_name (members, ags) : NULL;
    kh_web_puts (req, "<span class=\"ags\">");
    kh_web_html (out, ags);
    kh_web_puts (req, "</span>");
    if (name) {
        kh_web_puts (req, " <span class=\"name\">");
        kh_web_html (out, name);
        kh_web_puts (req, "</span>");
    }
    return out->failed ? -1 : 0;
}

int
kh_web_time (kh_web_req_t *req, uint64_t ms)
{
    char berlin [KH_WHEN_SIZE], iso [32];
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    strftime (iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    kh_when_berlin (ms, berlin);
    return kh_web_printf (req, "<time datetime=\"%s\">%s</time>", iso, berlin);
}
