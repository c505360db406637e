/*  kh_web_html.h - HTML for kreishub-web: the one place that escapes text, and the page's frame.

    Every text that did not come from this program's own string literals (titles,
    names, bodies, parameters echoed back) goes into a page through kh_web_html,
    which escapes & < > " and ' so that it is text in an element and in a quoted
    attribute alike; kh_web_url escapes a value for a link's query string.
    kh_web_page_begin and kh_web_page_end frame every page: the navigation, who
    is signed in, the stylesheet; no inline script or style anywhere.
*/
#ifndef KH_WEB_HTML_H_INCLUDED
#define KH_WEB_HTML_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "kh_web.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Appends text to buf with & < > " ' as entities. NULL writes nothing. Returns
   0, or -1 (buf failed). */
int kh_web_html (kh_web_buf_t *buf, const char *text);

/* The same for len bytes of text. */
int kh_web_html_n (kh_web_buf_t *buf, const char *text, size_t len);

/* Appends text percent-encoded for a query string's value (every byte but
   A-Z a-z 0-9 - _ . ~ as %XX). Returns 0, or -1. */
int kh_web_url (kh_web_buf_t *buf, const char *text);

/* Begins a page: doctype, head with title (escaped) and the stylesheet, the
   header with the navigation (active: the path of this page, marked), and who
   is signed in; opens <main>. Returns 0, or -1. */
int kh_web_page_begin (kh_web_req_t *req, const char *title, const char *active);

/* Ends the page begun (closes main, the footer, the live script if live).
   Returns 0, or -1. */
int kh_web_page_end (kh_web_req_t *req, bool live);

/* Appends "AGS Name" for an AGS: the name from the members (escaped) after it
   in a span, or the AGS alone if it names nobody known. Returns 0, or -1. */
int kh_web_ags (kh_web_req_t *req, const char *ags);

/* Appends a time (ms since the epoch) as Berlin local time "TT.MM.JJJJ HH:MM"
   in a <time> element whose datetime is UTC ISO 8601. Returns 0, or -1. */
int kh_web_time (kh_web_req_t *req, uint64_t ms);

#ifdef __cplusplus
}
#endif
#endif
